package proc

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMemoryIsASoftLimit: a function process runs with a soft RLIMIT_DATA
// of its memory + 256 MiB and the server's hard limit, so a function that
// detaches a local cluster can lift the soft limit for it.
func TestMemoryIsASoftLimit(t *testing.T) {
	raw := buildRawFn(t)
	d, err := New(Config{MaxProcsPerFn: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	spec := Spec{
		FnID: "fn1", Path: raw, Env: map[string]string{"RAWFN_MODE": "ok"}, MemoryMB: 128,
		Timeout: 10 * time.Second, IdleTimeout: time.Hour, LogPath: filepath.Join(t.TempDir(), "fn1.log"),
	}
	r, err := d.Call(context.Background(), spec, Request{CallID: "c", Header: http.Header{}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	pid, err := strconv.Atoi(r.Header.Get("X-Pid"))
	if err != nil {
		t.Fatalf("function pid %q: %v", r.Header.Get("X-Pid"), err)
	}
	var server unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_DATA, &server); err != nil {
		t.Fatal(err)
	}
	soft, hard := dataLimits(t, pid)
	if want := strconv.Itoa((128 + 256) << 20); soft != want {
		t.Errorf("function's soft RLIMIT_DATA = %s, want %s (128 MB + 256 MiB)", soft, want)
	}
	if want := limitString(server.Max); hard != want {
		t.Errorf("function's hard RLIMIT_DATA = %s, want the server's %s", hard, want)
	}
}

// TestSetSoftLimitUnderALowerHardLimit: when the hard limit is below the
// memory limit, the soft limit stops at it and the call succeeds.
func TestSetSoftLimitUnderALowerHardLimit(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	const hard = 200 << 20
	if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: hard, Max: hard}, nil); err != nil {
		t.Fatal(err)
	}
	if err := setSoftLimit(pid, unix.RLIMIT_DATA, 384<<20); err != nil {
		t.Fatalf("setSoftLimit: %v", err)
	}
	if soft, h := dataLimits(t, pid); soft != strconv.Itoa(hard) || h != strconv.Itoa(hard) {
		t.Errorf("RLIMIT_DATA = %s soft, %s hard; want both %d", soft, h, hard)
	}
}

// dataLimits returns pid's soft and hard RLIMIT_DATA as /proc shows them:
// bytes, or "unlimited".
func dataLimits(t *testing.T, pid int) (soft, hard string) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max data size"); ok {
			if f := strings.Fields(rest); len(f) >= 2 {
				return f[0], f[1]
			}
		}
	}
	t.Fatalf("no data size limit in /proc/%d/limits:\n%s", pid, b)
	return "", ""
}

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}
