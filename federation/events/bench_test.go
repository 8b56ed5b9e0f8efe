package events_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/events"
)

// BenchmarkSend sends one event per operation to an httptest sink on
// loopback that answers 204, through one keep-alive connection; in
// parallel, through one Sender shared by GOMAXPROCS goroutines. The
// sink's side (an http.Server reading the request) is in the figures.
func BenchmarkSend(b *testing.B) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer server.Close()
	s, err := events.NewSender(server.URL, events.WithSigner(events.BearerToken("t")))
	if err != nil {
		b.Fatal(err)
	}
	e := readyEvent(b, "cluster.ready:eu-1@7")
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			if _, err := s.Send(b.Context(), e); err != nil {
				b.Fatal(err)
			}
		}
		report(b, start)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Send(b.Context(), e); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, start)
	})
}
