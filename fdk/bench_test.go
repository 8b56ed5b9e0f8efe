package fdk_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/functions/echo/echo"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// echoCaller sends echo calls with a 1 KiB body over one connection.
type echoCaller struct {
	client   *http.Client
	body     []byte
	rd       *bytes.Reader
	got      *bytes.Buffer
	deadline string
}

func newEchoCaller(socket string) *echoCaller {
	body := bytes.Repeat([]byte("a"), 1024)
	return &echoCaller{
		client: &http.Client{Transport: fncontract.Transport(socket)}, body: body, rd: bytes.NewReader(body),
		got: bytes.NewBuffer(make([]byte, 0, 4096)), deadline: time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	}
}

func (c *echoCaller) call(b *testing.B) {
	c.rd.Reset(c.body)
	req, err := http.NewRequest(http.MethodPost, "http://localhost/call", c.rd)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(fdk.HeaderCallID, "01BENCH")
	req.Header.Set(fdk.HeaderDeadline, c.deadline)
	resp, err := c.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	c.got.Reset()
	_, err = c.got.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || c.got.Len() != len(c.body) {
		b.Fatalf("answer %d, %d bytes, %v", resp.StatusCode, c.got.Len(), err)
	}
}

// startPlainEcho serves the same echo with a bare net/http server on a
// unix socket, the baseline the FDK is measured against.
func startPlainEcho(b *testing.B) string {
	path := filepath.Join(fdktest.NewSocketDir(b), "plain.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(func() { _ = srv.Close() })
	return path
}

// BenchmarkEchoRoundTrip compares one call of the echo function through the
// FDK with the same echo served by a bare net/http server, both on a unix
// socket in this process. Each iteration makes one call to each, in
// alternating order, so that both see the same machine load; it reports
// the median time per call of each and their ratio (target: at most 1.05),
// and the ratio of the means.
func BenchmarkEchoRoundTrip(b *testing.B) {
	a := fdktest.Start(b, fdk.HandlerFunc(echo.Serve), fdktest.Options{})
	viaFDK := newEchoCaller(filepath.Join(a.Dir, "lsnr.sock"))
	plain := newEchoCaller(startPlainEcho(b))
	for range 200 { // warm both connections and buffers
		viaFDK.call(b)
		plain.call(b)
	}
	fdkTimes, plainTimes := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.SetBytes(2 * 1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		first, second, firstT, secondT := viaFDK, plain, &fdkTimes, &plainTimes
		if i%2 == 1 {
			first, second, firstT, secondT = plain, viaFDK, &plainTimes, &fdkTimes
		}
		t0 := time.Now()
		first.call(b)
		t1 := time.Now()
		second.call(b)
		t2 := time.Now()
		*firstT = append(*firstT, t1.Sub(t0))
		*secondT = append(*secondT, t2.Sub(t1))
	}
	b.StopTimer()
	// Medians: on a shared machine a descheduled call can take 100 times
	// the usual, and would dominate a mean.
	fdkMedian, plainMedian := median(fdkTimes), median(plainTimes)
	b.ReportMetric(float64(fdkMedian.Nanoseconds()), "fdk-p50-ns/call")
	b.ReportMetric(float64(plainMedian.Nanoseconds()), "plain-p50-ns/call")
	b.ReportMetric(float64(fdkMedian)/float64(plainMedian), "fdk/plain-p50")
	b.ReportMetric(float64(sum(fdkTimes))/float64(sum(plainTimes)), "fdk/plain-mean")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// BenchmarkStartToSocketReady times built function binaries from exec to a
// socket the agent would accept, built as their images build them (static,
// see fdktest.Build). Each iteration starts, in rotating order:
//   - functions/echo, the FDK's echo (target: under 10 ms);
//   - fdk/internal/plainecho, the same echo as a bare net/http server: what
//     any Go function answering HTTP on the socket pays;
//   - fdk/internal/minlisten, the handshake alone: what this machine charges
//     for starting a Go process at all.
//
// It reports the median and minimum of each, and the ratio of the medians
// of echo and plainecho.
func BenchmarkStartToSocketReady(b *testing.B) {
	bins := []struct{ name, path string }{
		{"echo", fdktest.Build(b, "github.com/fnfleet/fnfleet/functions/echo")},
		{"plain", fdktest.Build(b, "github.com/fnfleet/fnfleet/fdk/internal/plainecho")},
		{"handshake", fdktest.Build(b, "github.com/fnfleet/fnfleet/fdk/internal/minlisten")},
	}
	ctx := context.Background()
	start := func(bin string) time.Duration {
		dir := fdktest.NewSocketDir(b)
		t0 := time.Now()
		a, err := fdktest.StartProcess(ctx, bin, dir, fdktest.Options{})
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Stop(); err != nil {
			b.Fatalf("stop: %v\n%s", err, a.Stderr())
		}
		return d
	}
	times := make([][]time.Duration, len(bins))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range bins {
			k := (i + j) % len(bins)
			times[k] = append(times[k], start(bins[k].path))
		}
	}
	b.StopTimer()
	for k, bin := range bins {
		b.ReportMetric(float64(median(times[k]).Microseconds())/1e3, bin.name+"-p50-ms")
		b.ReportMetric(float64(slices.Min(times[k]).Microseconds())/1e3, bin.name+"-min-ms")
	}
	b.ReportMetric(float64(median(times[0]))/float64(median(times[1])), "echo/plain-p50")
}
