package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
)

func BenchmarkKPIsHandler(b *testing.B) {
	e := newEnv(b, "sqlite")
	std := policy(b, "board")
	for _, name := range exampleNames(b) {
		req := buildPush(b, "system.yaml", exampleModel(b, name), std)
		if w := e.do("POST", "/api/v1/push", e.admin, req); w.Code != http.StatusCreated {
			b.Fatal(w.Body.String())
		}
	}
	viewer := e.token("bench", store.RoleViewer, "", "")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if w := e.do("GET", "/api/v1/kpis", viewer, nil); w.Code != http.StatusOK {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkPushHandler pushes a new version each time: the model's tags
// change, so nothing is "unchanged". Building the request (analysis, gap,
// gate) is the client's work and stays outside the loop.
func BenchmarkPushHandler(b *testing.B) {
	e := newEnv(b, "sqlite")
	req := buildPush(b, "system.yaml", exampleModel(b, "sentiment-api"), policy(b, "standard"))
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	const marker = `platforms: [predictive]`
	if !bytes.Contains(body, []byte(marker)) {
		b.Fatal("the model has no platforms line to vary")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		e.clock.Add(time.Millisecond)
		varied := bytes.Replace(body, []byte(marker), []byte(marker+`\n  tags: [b`+strconv.Itoa(i)+`]`), 1)
		if w := e.do("POST", "/api/v1/push", e.admin, varied); w.Code != http.StatusCreated {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkPushHandlerParallel pushes from GOMAXPROCS goroutines at once,
// each its own system, the way many CI pipelines push together.
func BenchmarkPushHandlerParallel(b *testing.B) {
	e := newEnv(b, "sqlite")
	req := buildPush(b, "system.yaml", exampleModel(b, "sentiment-api"), policy(b, "standard"))
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := strconv.FormatInt(n.Add(1), 10)
		mine := bytes.ReplaceAll(body, []byte("sentiment-api"), []byte("sentiment-api-"+id))
		for i := 0; pb.Next(); i++ {
			varied := bytes.Replace(mine, []byte("platforms: [predictive]"), []byte("platforms: [predictive]\\n  tags: [b"+strconv.Itoa(i)+"]"), 1)
			if w := e.do("POST", "/api/v1/push", e.admin, varied); w.Code != http.StatusCreated {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
}
