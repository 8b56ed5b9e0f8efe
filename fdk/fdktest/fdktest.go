// Package fdktest plays the Fn agent for tests of functions written with
// package fdk. It prepares a short socket directory and the environment the
// agent gives a container, starts the function (in this process, or a built
// binary), waits for lsnr.sock and checks it exactly as the agent does, and
// sends calls the way the agent does: POST http://localhost/call over the
// unix socket, one connection, one call at a time, with Fn-Call-Id,
// Fn-Deadline and, for HTTP-trigger calls, the Fn-Http-* header mapping.
package fdktest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

// HotStartTimeout is how long the agent waits for a container's socket
// (FN_HOT_START_TIMEOUT_MSECS defaults to 5 s).
const HotStartTimeout = 5 * time.Second

// Options describe the container the fake agent starts.
type Options struct {
	// AppID and FnID default to "app-test" and "fn-test".
	AppID, FnID string
	// Memory is FN_MEMORY in MB; 0 means 128, Fn's default.
	Memory int
	// Config is the app and fn configuration, passed as environment
	// variables as the agent does.
	Config map[string]string
	// Env entries ("KEY=value") are appended last and so win over
	// everything else, e.g. to break FN_FORMAT on purpose.
	Env []string
	// Dir is the socket directory to use (it must exist); empty means a new
	// one from NewSocketDir.
	Dir string
	// Logger receives the in-process FDK's logs; nil discards them.
	Logger *slog.Logger
}

// NewSocketDir creates an empty directory for a container's socket under
// /tmp (not t.TempDir, whose long names can break the 107-byte limit of a
// unix socket path) and removes it when the test ends.
func NewSocketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "fdk")
	if err != nil {
		t.Fatalf("fdktest: creating socket dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// Environ returns the environment the Fn agent gives a container whose
// socket directory is dir: config first, then the FN_* variables, then
// opts.Env.
func Environ(dir string, opts Options) []string {
	appID, fnID, memory := opts.AppID, opts.FnID, opts.Memory
	if appID == "" {
		appID = "app-test"
	}
	if fnID == "" {
		fnID = "fn-test"
	}
	if memory == 0 {
		memory = 128
	}
	keys := make([]string, 0, len(opts.Config))
	for k := range opts.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys)+6+len(opts.Env))
	for _, k := range keys {
		env = append(env, k+"="+opts.Config[k])
	}
	env = append(env,
		"FN_LISTENER=unix:"+filepath.Join(dir, socket.ListenerName),
		"FN_FORMAT=http-stream",
		"FN_APP_ID="+appID,
		"FN_FN_ID="+fnID,
		"FN_MEMORY="+strconv.Itoa(memory),
		"FN_TYPE=sync",
	)
	return append(env, opts.Env...)
}

// ErrBadSocket is wrapped by WaitForSocket when lsnr.sock exists but the
// agent would reject it.
var ErrBadSocket = errors.New("fdktest: lsnr.sock rejected")

// WaitForSocket waits until <dir>/lsnr.sock exists and checks it as the
// agent does: it must be a symlink whose target has no directory part, and
// it must resolve to a socket. exited, if not nil, ends the wait early
// (the process died); its value is reported.
func WaitForSocket(ctx context.Context, dir string, exited <-chan error) (string, error) {
	link := filepath.Join(dir, socket.ListenerName)
	pause := 20 * time.Microsecond
	var timer *time.Timer
	// A rejected lsnr.sock may be a stale file the function has yet to
	// replace (the agent reacts to creation events only), so keep waiting
	// and report the last rejection if the socket never becomes valid.
	var rejected error
	for {
		fi, err := os.Lstat(link)
		switch {
		case err == nil:
			if rejected = checkSocket(link, fi); rejected == nil {
				return link, nil
			}
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("fdktest: inspecting %s: %w", link, err)
		}
		if timer == nil {
			timer = time.NewTimer(pause)
			defer timer.Stop()
		} else {
			timer.Reset(pause)
		}
		select {
		case <-ctx.Done():
			if rejected != nil {
				return "", rejected
			}
			return "", fmt.Errorf("fdktest: waiting for %s: %w", link, context.Cause(ctx))
		case err := <-exited:
			return "", errors.Join(fmt.Errorf("fdktest: function exited before creating a valid %s: %w", link, err), rejected)
		case <-timer.C:
		}
		if pause < 250*time.Microsecond {
			pause *= 2
		}
	}
}

// checkSocket is the agent's rule plus the FDK contract's: lsnr.sock must
// be a symlink (to a phony socket), not the socket itself.
func checkSocket(link string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%w: %s is not a symlink (mode %v)", ErrBadSocket, link, fi.Mode())
	}
	if err := socket.Check(link); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSocket, err)
	}
	return nil
}
