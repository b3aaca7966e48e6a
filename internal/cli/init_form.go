package cli

import (
	"errors"
	"os"

	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/x/term"

	"github.com/mlthreat/mlthreat/internal/ingest"
)

// askQuestions runs the terminal form for what metadata cannot say. The form
// is drawn on stderr so that the model can still go to stdout.
func (a *app) askQuestions(pre *ingest.Model) (*ingest.Answers, error) {
	if !term.IsTerminal(os.Stdin.Fd()) {
		return nil, exitWith(ExitUsage, "--interactive needs a terminal on stdin; without one, answer the x-todo entries in the written model")
	}
	out, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(out.Fd()) {
		out = os.Stderr
	}
	hasAPI := pre.HasKind("inference-api")
	generative := pre.Generative()
	var (
		ans                  ingest.Answers
		served               = hasAPI
		scores, retrains     bool
		exposure, auth, crit string
		owner                string
		callers              []string
	)
	callerOpts := make([]huh.Option[string], 0, len(ingest.CallerKinds))
	for _, c := range ingest.CallerKinds {
		callerOpts = append(callerOpts, huh.NewOption(c.Label, c.Value))
	}
	notServed := func() bool { return !served }
	form := huh.NewForm(
		huh.NewGroup(huh.NewInput().Title("Who owns this system?").
			Description("A team or an e-mail address; leave empty to decide later.").
			CharLimit(200).Value(&owner)),
		huh.NewGroup(huh.NewSelect[string]().Title("How critical is the system to the business?").
			Options(huh.NewOption("Decide later", ""), huh.NewOption("Low", "low"), huh.NewOption("Medium", "medium"),
				huh.NewOption("High", "high"), huh.NewOption("Critical", "critical")).
			Value(&crit)),
		huh.NewGroup(huh.NewConfirm().Title("Is the model served to callers through an API?").
			Affirmative("Yes").Negative("No").Value(&served)).
			WithHideFunc(func() bool { return hasAPI }),
		huh.NewGroup(huh.NewSelect[string]().Title("Who can reach the API over the network?").
			Options(huh.NewOption("The internet", "internet"), huh.NewOption("Partners only", "partner"),
				huh.NewOption("Our internal network", "internal"), huh.NewOption("Nothing outside its own host", "isolated")).
			Value(&exposure)).WithHideFunc(notServed),
		huh.NewGroup(huh.NewSelect[string]().Title("How do callers authenticate?").
			Options(huh.NewOption("Don't know", "unknown"), huh.NewOption("They do not", "none"), huh.NewOption("API key", "api-key"),
				huh.NewOption("OAuth 2", "oauth2"), huh.NewOption("OpenID Connect", "oidc"), huh.NewOption("JWT", "jwt"),
				huh.NewOption("Mutual TLS", "mtls"), huh.NewOption("Basic auth", "basic"), huh.NewOption("Cloud IAM", "iam"),
				huh.NewOption("Web session", "session")).
			Value(&auth)).WithHideFunc(notServed),
		huh.NewGroup(huh.NewMultiSelect[string]().Title("Who sends input to the API?").
			Description("x or space selects, enter confirms.").
			Options(callerOpts...).Value(&callers)).WithHideFunc(notServed),
		huh.NewGroup(huh.NewConfirm().Title("Do responses include confidence scores or probabilities?").
			Affirmative("Yes").Negative("No").Value(&scores)).
			WithHideFunc(func() bool { return !served || generative }),
		huh.NewGroup(huh.NewConfirm().Title("Does the model learn from user feedback (ratings, corrections)?").
			Affirmative("Yes").Negative("No").Value(&retrains)),
	).WithInput(os.Stdin).WithOutput(out).WithShowHelp(true)
	if err := form.Run(); err != nil {
		if errors.Is(err, huh.ErrUserAborted) {
			return nil, exitWith(ExitUsage, "init: cancelled; nothing was written")
		}
		return nil, exitWith(ExitUsage, "init: the form failed: %v", err)
	}
	ans.Owner, ans.Criticality = owner, crit
	ans.Served = &served
	ans.Retrains = &retrains
	if served {
		ans.Exposure, ans.Auth, ans.Callers = exposure, auth, callers
		if !generative {
			ans.Scores = &scores
		}
	}
	return &ans, nil
}
