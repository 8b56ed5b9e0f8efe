package installer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	helmtime "helm.sh/helm/v3/pkg/time"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// childEnv makes the test binary a process that runs one Apply and is
// killed with SIGKILL while Helm waits; its value is a childJob in JSON.
const childEnv = "FNFLEET_INSTALLER_CHILD_JOB"

// childLease is the killed child's lease duration: short, so that the test
// waits seconds, not defaultLeaseDuration, for the lease to expire.
const childLease = 3 * time.Second

type childJob struct {
	Kubeconfig string
	Release    Release
}

func TestMain(m *testing.M) {
	if job := os.Getenv(childEnv); job != "" {
		// runChild returns only if Apply ended before the kill.
		fmt.Fprintln(os.Stderr, runChild(job))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func runChild(job string) error {
	var j childJob
	if err := json.Unmarshal([]byte(job), &j); err != nil {
		return fmt.Errorf("child: read job: %w", err)
	}
	in := New(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	in.leaseDuration = childLease
	if _, err := in.Apply(context.Background(), Target{KubeconfigPath: j.Kubeconfig}, j.Release); err != nil {
		return fmt.Errorf("child: Apply failed before the kill: %w", err)
	}
	return errors.New("child: Apply finished before the kill")
}

// killMidApply runs Apply of rel in a child process and kills it with SIGKILL
// once revision rev of the release is stored with status pending: the child
// dies while Helm waits for readiness, so no cleanup code of its own runs.
// Before the kill it checks that an Apply meanwhile is refused as in
// progress.
func killMidApply(ctx context.Context, t *testing.T, in *Installer, c *local.Cluster, rel Release, rev int, pending release.Status) {
	t.Helper()
	job, err := json.Marshal(childJob{Kubeconfig: c.KubeconfigPath, Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(job))
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	cs := clientset(t, c)
	waitUntil(ctx, t, fmt.Sprintf("revision %d %s", rev, pending), func(ctx context.Context) error {
		if got := revisionStatus(ctx, t, cs, rel.Namespace, rel.Name, rev); got != pending {
			return fmt.Errorf("status %q", got)
		}
		return nil
	})
	_, err = in.Apply(ctx, Target{RESTConfig: c.RESTConfig}, rel)
	if !errors.Is(err, ErrInProgress) {
		t.Fatalf("Apply while another process applies: %v, want ErrInProgress", err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := revisionStatus(ctx, t, cs, rel.Namespace, rel.Name, rev); got != pending {
		t.Fatalf("after the kill revision %d is %q, want %s left behind", rev, got, pending)
	}
}

// applyAfterCrash applies rel until the dead child's lease has expired
// (ErrInProgress until then: about childLease).
func applyAfterCrash(ctx context.Context, t *testing.T, in *Installer, c *local.Cluster, rel Release) Result {
	t.Helper()
	var res Result
	waitUntil(ctx, t, "Apply after the crash", func(ctx context.Context) error {
		var err error
		res, err = in.Apply(ctx, Target{RESTConfig: c.RESTConfig}, rel)
		if errors.Is(err, ErrInProgress) {
			return err
		}
		if err != nil {
			t.Fatalf("Apply after the crash: %v", err)
		}
		return nil
	})
	return res
}

func revisionStatus(ctx context.Context, t *testing.T, cs kubernetes.Interface, namespace, name string, rev int) release.Status {
	t.Helper()
	for _, s := range releaseSecrets(ctx, t, cs, namespace, name) {
		if s.Labels["version"] == strconv.Itoa(rev) {
			return release.Status(s.Labels["status"])
		}
	}
	return ""
}

// TestApplyRecoversAReleaseLeftPendingByAKill kills, with SIGKILL, a process
// in the middle of an install, then of an upgrade, both stuck waiting for a
// Deployment that can never be ready; Apply afterwards finishes the job.
func TestApplyRecoversAReleaseLeftPendingByAKill(t *testing.T) {
	c := testbed.Start(t, local.ClusterSpec{})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	in := New(testbed.Logger(t))
	cs := clientset(t, c)
	// No volume: a kwok cluster has no provisioner (see cluster_test.go).
	good := func(extra map[string]any) map[string]any {
		v := map[string]any{"persistence": map[string]any{"enabled": false}}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	stuck := map[string]any{"nodeSelector": map[string]any{"fnfleet.dev/no-such-node": "true"}}

	t.Run("an interrupted install is uninstalled and installed afresh", func(t *testing.T) {
		rel := Release{Name: "crash", Namespace: "crash", Timeout: 3 * time.Minute}
		child := rel
		child.Values = good(map[string]any{"server": stuck})
		child.Timeout = 10 * time.Minute
		killMidApply(ctx, t, in, c, child, 1, release.StatusPendingInstall)

		rel.Values = good(nil)
		res := applyAfterCrash(ctx, t, in, c, rel)
		if res.Outcome != Installed || res.Revision != 1 {
			t.Errorf("result %+v, want installed revision 1", res)
		}
		for _, want := range []string{"pending-install revision 1", "stopped renewing its lease", "uninstalled"} {
			if !strings.Contains(res.Recovered, want) {
				t.Errorf("Recovered %q does not say %q", res.Recovered, want)
			}
		}
		d := deployment(ctx, t, cs, "crash", "crash-fn")
		if len(d.Spec.Template.Spec.NodeSelector) != 0 || !available(d) {
			t.Errorf("deployment: nodeSelector %v, available %v", d.Spec.Template.Spec.NodeSelector, available(d))
		}
		if n := len(releaseSecrets(ctx, t, cs, "crash", "crash")); n != 1 {
			t.Errorf("%d release records, want the fresh install's 1", n)
		}
		if _, err := cs.CoordinationV1().Leases("crash").Get(ctx, leasePrefix+"crash", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("lease left after Apply (get: %v)", err)
		}
		again, err := in.Apply(ctx, Target{RESTConfig: c.RESTConfig}, rel)
		if err != nil || again.Outcome != Unchanged || again.Recovered != "" {
			t.Errorf("re-apply: %+v, %v; want unchanged, nothing recovered", again, err)
		}
	})

	t.Run("an interrupted upgrade is rolled back, then applied", func(t *testing.T) {
		before := good(nil)
		rel := Release{Name: "up", Namespace: "up", Values: before, Timeout: 3 * time.Minute}
		if res, err := in.Apply(ctx, Target{RESTConfig: c.RESTConfig}, rel); err != nil || res.Outcome != Installed {
			t.Fatalf("install: %+v, %v", res, err)
		}
		child := rel
		child.Values = good(map[string]any{"logLevel": "debug", "server": stuck})
		child.Timeout = 10 * time.Minute
		killMidApply(ctx, t, in, c, child, 2, release.StatusPendingUpgrade)

		after := good(map[string]any{"logLevel": "debug"})
		rel.Values = after
		res := applyAfterCrash(ctx, t, in, c, rel)
		// 2 interrupted (now failed), 3 the rollback to 1, 4 the new values.
		if res.Outcome != Upgraded || res.Revision != 4 {
			t.Errorf("result %+v, want upgraded revision 4", res)
		}
		for _, want := range []string{"pending-upgrade revision 2", "rolled back to revision 1"} {
			if !strings.Contains(res.Recovered, want) {
				t.Errorf("Recovered %q does not say %q", res.Recovered, want)
			}
		}
		cfg, err := in.configure(ctx, c.RESTConfig, "up", testbed.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		for rev, want := range map[int]struct {
			status release.Status
			values map[string]any
		}{
			2: {release.StatusFailed, child.Values},
			3: {release.StatusSuperseded, before},
			4: {release.StatusDeployed, after},
		} {
			r, err := cfg.Releases.Get("up", rev)
			if err != nil {
				t.Fatalf("revision %d: %v", rev, err)
			}
			if r.Info.Status != want.status {
				t.Errorf("revision %d is %s, want %s", rev, r.Info.Status, want.status)
			}
			if same, err := sameValues(r.Config, want.values); err != nil || !same {
				t.Errorf("revision %d values %v, want %v (%v)", rev, r.Config, want.values, err)
			}
		}
		d := deployment(ctx, t, cs, "up", "up-fn")
		if got := envOf(d, "FN_LOG_LEVEL"); got != "debug" {
			t.Errorf("FN_LOG_LEVEL = %q, want debug", got)
		}
		if len(d.Spec.Template.Spec.NodeSelector) != 0 || !available(d) {
			t.Errorf("deployment: nodeSelector %v, available %v", d.Spec.Template.Spec.NodeSelector, available(d))
		}
	})

	t.Run("a writer whose lease was taken over writes nothing more", func(t *testing.T) {
		// The other side of the race: a process that stalled past its lease
		// (played here by taking the lease over while it waits) must not,
		// when its wait fails, undo the release the taker now owns.
		stalled := New(testbed.Logger(t))
		stalled.leaseDuration = childLease
		rel := Release{Name: "stall", Namespace: "stall", Values: good(map[string]any{"server": stuck}), Timeout: 2 * time.Minute}
		errc := make(chan error, 1)
		go func() {
			_, err := stalled.Apply(ctx, Target{RESTConfig: c.RESTConfig}, rel)
			errc <- err
		}()
		waitUntil(ctx, t, "revision 1 pending-install", func(ctx context.Context) error {
			if got := revisionStatus(ctx, t, cs, "stall", "stall", 1); got != release.StatusPendingInstall {
				return fmt.Errorf("status %q", got)
			}
			return nil
		})
		leases := cs.CoordinationV1().Leases("stall")
		l, err := leases.Get(ctx, leasePrefix+"stall", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		thief := "thief"
		l.Spec.HolderIdentity = &thief
		if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, errLeaseLost) {
				t.Fatalf("Apply of the stalled writer: %v, want the lease lost", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the stalled writer went on after losing its lease")
		}
		if got := revisionStatus(ctx, t, cs, "stall", "stall", 1); got != release.StatusPendingInstall {
			t.Errorf("revision 1 is %q after the loss, want pending-install untouched (no atomic undo)", got)
		}
		if _, err := cs.AppsV1().Deployments("stall").Get(ctx, "stall-fn", metav1.GetOptions{}); err != nil {
			t.Errorf("the stalled writer's undo removed the Deployment: %v", err)
		}
		if l, err := leases.Get(ctx, leasePrefix+"stall", metav1.GetOptions{}); err != nil || *l.Spec.HolderIdentity != thief {
			t.Errorf("the taker's lease after the loss: %v, %v", l, err)
		}
	})
}

func TestStalePending(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	bound := staleAfter(3 * time.Minute) // 10 minutes: twice Helm's default
	if bound != 10*time.Minute {
		t.Fatalf("staleAfter(3m) = %s, want 10m", bound)
	}
	pending := func(rev int, age time.Duration) *release.Release {
		return &release.Release{Version: rev, Info: &release.Info{
			Status: release.StatusPendingUpgrade, LastDeployed: helmtime.Time{Time: now.Add(-age)}}}
	}
	dead := &orphan{holder: "host/42/abc", revision: 3, renewed: now.Add(-20 * time.Second)}
	for _, tc := range []struct {
		name  string
		last  *release.Release
		prev  *orphan
		stale bool
		why   string
	}{
		{"the dead holder was writing it", pending(3, time.Minute), dead, true, "its installer host/42/abc stopped renewing its lease 20s ago"},
		{"the dead holder was writing another", pending(4, time.Minute), dead, false, "pending for 1m0s, written by a process that holds no installer lease"},
		{"no lease, young", pending(3, 9*time.Minute), nil, false, "counted as interrupted after 10m0s"},
		{"no lease, older than the bound", pending(3, 11*time.Minute), nil, true, "pending for 11m0s, longer than 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stale, why := stalePending(tc.last, tc.prev, now, bound)
			if stale != tc.stale || !strings.Contains(why, tc.why) {
				t.Errorf("stalePending = %v, %q; want %v, %q", stale, why, tc.stale, tc.why)
			}
		})
	}
}

// waitUntil polls cond until it holds, failing the test after two minutes
// with cond's last complaint.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		last = cond(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %v)", what, err, last)
	}
}

// TestFenceRefusesWritesOnlyAfterTheLeaseIsLost: a call cancelled by its
// caller may still undo its own failed action; one whose lease another
// process took over writes nothing more.
func TestFenceRefusesWritesOnlyAfterTheLeaseIsLost(t *testing.T) {
	rel := func(v int) *release.Release {
		return &release.Release{Name: "fn", Version: v, Info: &release.Info{Status: release.StatusPendingInstall}}
	}
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(context.Canceled)
	d := fencedDriver{Driver: driver.NewMemory(), ctx: cancelled}
	if err := d.Create("sh.helm.release.v1.fn.v1", rel(1)); err != nil {
		t.Fatalf("write of a call cancelled by its caller: %v", err)
	}

	lost, lose := context.WithCancelCause(context.Background())
	lose(fmt.Errorf("%w: conflict", errLeaseLost))
	d.ctx = lost
	for name, err := range map[string]error{
		"create": d.Create("sh.helm.release.v1.fn.v2", rel(2)),
		"update": d.Update("sh.helm.release.v1.fn.v1", rel(1)),
		"delete": func() error { _, err := d.Delete("sh.helm.release.v1.fn.v1"); return err }(),
	} {
		if !errors.Is(err, errLeaseLost) {
			t.Errorf("%s after the lease was lost: %v, want refused", name, err)
		}
	}
	if _, err := d.Get("sh.helm.release.v1.fn.v1"); err != nil {
		t.Errorf("the record written before the loss is gone: %v", err)
	}
}
