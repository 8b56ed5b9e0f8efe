package testbed

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
)

// FnProcess is a member's data plane as the local fleet runs it: a real
// `fnfleet fn-server` process ($FNFLEET_BIN/fnfleet) on a loopback port,
// which a test can kill, hang and bring back on the same address with the
// same data (the apps deployed on it survive a restart, as on a member).
type FnProcess struct {
	// URL is its Fn API base URL.
	URL string

	t                       testing.TB
	exe, addr, data, images string
	cmd                     *exec.Cmd
	exited                  chan struct{}
}

// fnProcessStart bounds the wait for a started fn-server to answer: it
// opens a SQLite database and listens, well under a second on an idle
// machine; a minute covers a loaded CI runner.
const fnProcessStart = time.Minute

// Built is the executable name as `go build -o bin/ ./cmd/fnfleet
// ./functions/...` left it in $FNFLEET_BIN (bin/ of the module by
// default); the test fails, saying how to build it, when it is not there.
func Built(t testing.TB, name string) string {
	t.Helper()
	bins, err := Binaries()
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	path := filepath.Join(filepath.Dir(bins.Kwokctl), name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("testbed: %v: build it with go build -o bin/ ./cmd/fnfleet ./functions/...", err)
	}
	return path
}

// StartFnProcess starts an fn-server process mapping images (image name to
// executable) and waits until it answers; it is killed when the test ends.
func StartFnProcess(t testing.TB, images map[string]string) *FnProcess {
	t.Helper()
	dir := t.TempDir()
	p := &FnProcess{t: t, exe: Built(t, "fnfleet"), data: filepath.Join(dir, "fn"), images: filepath.Join(dir, "images.yaml")}
	data, err := yaml.Marshal(images)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if err := os.WriteFile(p.images, data, 0o644); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	p.addr = ln.Addr().String()
	_ = ln.Close()
	p.URL = "http://" + p.addr
	t.Cleanup(p.Kill)
	p.Start()
	return p
}

// Start starts the process (again, after Kill) and waits until it answers.
func (p *FnProcess) Start() {
	p.t.Helper()
	log, err := os.OpenFile(filepath.Join(filepath.Dir(p.data), "fn-server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("testbed: %v", err)
	}
	defer log.Close()
	p.cmd = exec.Command(p.exe, "fn-server", "--addr", p.addr, "--data", p.data, "--images", p.images)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("testbed: start %s fn-server (build it: go build -o bin/ ./cmd/fnfleet): %v", p.exe, err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(p.cmd, p.exited)
	ctx, cancel := context.WithTimeout(context.Background(), fnProcessStart)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/v2/apps", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			p.t.Fatalf("testbed: fn-server at %s exited while starting; its log is in %s", p.addr, filepath.Dir(p.data))
		case <-ctx.Done():
			p.t.Fatalf("testbed: fn-server at %s did not answer within %s", p.addr, fnProcessStart)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill kills the process (SIGKILL, as a crash would: its functions'
// processes die with it) and waits until it is gone. It does nothing when
// the process is not running.
func (p *FnProcess) Kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// Hang stops the process (SIGSTOP): connections to it are still accepted
// by the kernel, and never answered, as a hung data plane's are.
func (p *FnProcess) Hang() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatalf("testbed: hang fn-server at %s: %v", p.addr, err)
	}
}

// Resume lets a hung process run again (SIGCONT).
func (p *FnProcess) Resume() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		p.t.Fatalf("testbed: resume fn-server at %s: %v", p.addr, err)
	}
}

// helloImage is the echo function's image on the members StartHelloMember
// starts.
const helloImage = "fnfleet/echo:0.0.1"

// HelloApp is app hello as the tests place it: one function, the echo
// function, answering on its trigger /hello.
func HelloApp() v1alpha1.FleetAppSpec {
	return v1alpha1.FleetAppSpec{App: v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{
		Name: "hello", Image: helloImage, Triggers: []v1alpha1.Trigger{{Name: "hello", Type: "http", Source: "/hello"}},
	}}}}
}

// StartHelloMember starts a member's data plane (StartFnProcess) running
// the echo function as built in bin/, with HelloApp deployed on it.
func StartHelloMember(t testing.TB) (*FnProcess, v1alpha1.FleetAppSpec) {
	t.Helper()
	member := StartFnProcess(t, map[string]string{helloImage: Built(t, "echo")})
	spec := HelloApp()
	if _, err := fndeploy.Apply(t.Context(), member.URL, &spec.App); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return member, spec
}
