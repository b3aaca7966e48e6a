#!/usr/bin/env bash
# userpath.sh times what a user runs on an imported Threagile model, with
# the real binary: wall time (median and range of N runs), CPU time and
# peak memory (GNU time's maximum RSS), for each step of both paths:
#
#   mlthreat import threagile in.yaml -o model.yaml     # two steps...
#   mlthreat analyze model.yaml [-f json]
#   mlthreat analyze --from threagile in.yaml [-f json] # ...or one
#
# Usage: bench/userpath.sh [N] [INPUT...]   (from the repository root)
# Without INPUT it generates the 1x, 10x and 100x scaled examples and the
# 10,000-component model in Threagile's format. Needs GNU time at
# /usr/bin/time. See bench/README.md.
set -euo pipefail

n=${1:-5}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/mlthreat" ./cmd/mlthreat
bin=$work/mlthreat

inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
	for k in 1 10 100; do
		"$bin" gen --scale "$k" --format threagile -o "$work/threagile-x$k.yaml"
		inputs+=("$work/threagile-x$k.yaml")
	done
	"$bin" gen --components 10000 --format threagile -o "$work/threagile-10k.yaml"
	inputs+=("$work/threagile-10k.yaml")
fi

# step NAME CMD...: run CMD n times, print the medians.
step() {
	local name=$1
	shift
	: >"$work/times"
	for _ in $(seq "$n"); do
		/usr/bin/time -a -o "$work/times" -f "%e %U %S %M" "$@" >/dev/null 2>&1
	done
	sort -n "$work/times" | awk -v name="$name" '
		{ w[NR] = $1; c[NR] = $2 + $3; r[NR] = $4 }
		END {
			m = int((NR + 1) / 2)
			# medians of CPU and memory, each sorted on its own
			for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) {
				if (c[j] < c[i]) { t = c[i]; c[i] = c[j]; c[j] = t }
				if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			}
			printf "  %-28s wall %5.2f s (%.2f-%.2f)  cpu %5.2f s  peak %4d MB\n", name, w[m], w[1], w[NR], c[m], r[m] / 1024
		}'
}

for file in "${inputs[@]}"; do
	echo "$(basename "$file") ($(wc -c <"$file") bytes), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'):"
	cd "$work"
	cp "$file" in.yaml
	step "import" "$bin" import threagile in.yaml -o model.yaml
	"$bin" import threagile in.yaml -o model.yaml >/dev/null 2>&1
	step "analyze model (table)" "$bin" analyze model.yaml -o out.txt
	step "analyze model -f json" "$bin" analyze model.yaml -f json -o out.json
	step "analyze --from (table)" "$bin" analyze --from threagile in.yaml -o out.txt
	step "analyze --from -f json" "$bin" analyze --from threagile in.yaml -f json -o out.json
	cd - >/dev/null
done
