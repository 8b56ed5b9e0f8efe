package fdktest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/fdktest"
)

// listenAt creates a real unix socket at path for the duration of the test.
func listenAt(t *testing.T, path string) {
	t.Helper()
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lis.Close() })
}

// WaitForSocket must reject what the agent rejects. The wait is bounded so
// that a rejection is reported rather than waited on forever.
func TestWaitForSocketRejectsWhatTheAgentRejects(t *testing.T) {
	cases := map[string]func(t *testing.T, dir string){
		"symlink target with a directory part": func(t *testing.T, dir string) {
			listenAt(t, filepath.Join(dir, "phonylsnr.sock"))
			if err := os.Symlink(filepath.Join(dir, "phonylsnr.sock"), filepath.Join(dir, "lsnr.sock")); err != nil {
				t.Fatal(err)
			}
		},
		"symlink to a regular file": func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "phonylsnr.sock"), nil, 0o666); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("phonylsnr.sock", filepath.Join(dir, "lsnr.sock")); err != nil {
				t.Fatal(err)
			}
		},
		"socket without symlink": func(t *testing.T, dir string) {
			listenAt(t, filepath.Join(dir, "lsnr.sock"))
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			dir := fdktest.NewSocketDir(t)
			setup(t, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if _, err := fdktest.WaitForSocket(ctx, dir, nil); !errors.Is(err, fdktest.ErrBadSocket) {
				t.Fatalf("err %v, want ErrBadSocket", err)
			}
		})
	}
}

func TestWaitForSocketAcceptsTheHandshake(t *testing.T) {
	dir := fdktest.NewSocketDir(t)
	listenAt(t, filepath.Join(dir, "phonylsnr.sock"))
	if err := os.Symlink("phonylsnr.sock", filepath.Join(dir, "lsnr.sock")); err != nil {
		t.Fatal(err)
	}
	if _, err := fdktest.WaitForSocket(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
}

func TestWaitForSocketReportsAnEarlyExit(t *testing.T) {
	exited := make(chan error, 1)
	exited <- errors.New("exit status 1")
	_, err := fdktest.WaitForSocket(context.Background(), fdktest.NewSocketDir(t), exited)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("err %v, want the exit reported", err)
	}
}

// A server that answers with a status the agent rejects is reported as an
// invalid function response, as the agent would treat it.
func TestCallReportsInvalidStatus(t *testing.T) {
	dir := fdktest.NewSocketDir(t)
	phony := filepath.Join(dir, "phonylsnr.sock")
	lis, err := net.Listen("unix", phony)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	if err := os.Symlink("phonylsnr.sock", filepath.Join(dir, "lsnr.sock")); err != nil {
		t.Fatal(err)
	}
	a := fdktest.Connect(dir)
	defer func() { _ = a.Stop() }()
	r, err := a.Call(context.Background(), fdktest.Call{Body: []byte("x")})
	if !errors.Is(err, fdktest.ErrInvalidResponse) || r.Status != http.StatusBadRequest {
		t.Fatalf("result %+v, err %v: want ErrInvalidResponse for a 400", r, err)
	}
}

func TestEnvironLikeTheAgent(t *testing.T) {
	env := fdktest.Environ("/tmp/iofs", fdktest.Options{
		Config: map[string]string{"K": "v", "FN_APP_ID": "from-config"},
		Env:    []string{"FN_FORMAT=json"},
	})
	want := []string{
		"FN_APP_ID=from-config", "K=v", // config first ...
		"FN_LISTENER=unix:/tmp/iofs/lsnr.sock", "FN_FORMAT=http-stream", "FN_APP_ID=app-test",
		"FN_FN_ID=fn-test", "FN_MEMORY=128", "FN_TYPE=sync", // ... then FN_*, which win ...
		"FN_FORMAT=json", // ... then Options.Env, which wins over all
	}
	if strings.Join(env, " ") != strings.Join(want, " ") {
		t.Fatalf("environment\n got %v\nwant %v", env, want)
	}
	// An in-process function sees the last value of a key, like a process.
	a := fdktest.Start(t, fdk.HandlerFunc(func(ctx context.Context, _ io.Reader, out io.Writer) {
		_, _ = io.WriteString(out, fdk.GetContext(ctx).AppID())
	}), fdktest.Options{Config: map[string]string{"FN_APP_ID": "from-config"}})
	r, err := a.Call(context.Background(), fdktest.Call{})
	if err != nil || string(r.Body) != "app-test" {
		t.Fatalf("AppID %q (%v), want the agent's app-test", r.Body, err)
	}
}
