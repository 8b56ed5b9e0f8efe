package proc

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildRawFn builds the contract-breaking test function.
func buildRawFn(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rawfn")
	cmd := exec.Command("go", "build", "-o", out, "../internal/testfn/rawfn")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build rawfn: %v\n%s", err, b)
	}
	return out
}

func TestDriverPoolsAndClose(t *testing.T) {
	raw := buildRawFn(t)
	d, err := New(Config{MaxProcsPerFn: 2})
	if err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	spec := Spec{
		FnID: "fn1", Path: raw, Env: map[string]string{"RAWFN_MODE": "ok"},
		Timeout: 10 * time.Second, IdleTimeout: time.Hour, LogPath: filepath.Join(logs, "fn1.log"),
	}
	call := func(s Spec) (*Response, error) {
		return d.Call(context.Background(), s, Request{CallID: "c", Header: http.Header{"X-In": {"1"}}})
	}
	r1, err := call(spec)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	r2, err := call(spec)
	if err != nil || r2.Header.Get("X-Pid") != r1.Header.Get("X-Pid") {
		t.Fatalf("second call: %v, pid %s then %s (want reuse)", err, r1.Header.Get("X-Pid"), r2.Header.Get("X-Pid"))
	}
	if !strings.Contains(string(r1.Body), `"X-In":["1"]`) || !strings.Contains(string(r1.Body), `"Fn-Deadline"`) {
		t.Errorf("function saw headers %s", r1.Body)
	}

	// A changed spec gets its own pool and process.
	spec2 := spec
	spec2.Env = map[string]string{"RAWFN_MODE": "ok", "V": "2"}
	r3, err := call(spec2)
	if err != nil || r3.Header.Get("X-Pid") == r1.Header.Get("X-Pid") {
		t.Fatalf("changed spec: %v, pid %s (first %s)", err, r3.Header.Get("X-Pid"), r1.Header.Get("X-Pid"))
	}
	if n := d.running(); n != 2 {
		t.Errorf("running = %d, want 2", n)
	}

	// Concurrent calls beyond the limit wait for a process, then succeed.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := call(spec); err != nil {
				t.Errorf("concurrent call: %v", err)
			}
		}()
	}
	wg.Wait()
	d.mu.Lock()
	live := d.pools[spec.key()].live
	d.mu.Unlock()
	if live > 2 {
		t.Errorf("pool has %d processes, limit 2", live)
	}

	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := d.running(); n != 0 {
		t.Errorf("running after Close = %d", n)
	}
	d.mu.Lock()
	pools := len(d.pools)
	d.mu.Unlock()
	if pools != 0 {
		t.Errorf("%d pools left after Close", pools)
	}
	var ce *CallError
	if _, err := call(spec); !errors.As(err, &ce) || ce.Kind != ShuttingDown || ce.RetryAfter != 15*time.Second {
		t.Errorf("call after Close: err = %v, want ShuttingDown, retry after 15 s (the server's 503)", err)
	}
	if _, err := os.Stat(d.cfg.SocketDir); !os.IsNotExist(err) {
		t.Errorf("socket directory left behind: %v", err)
	}
}
