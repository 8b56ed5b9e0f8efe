package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/localmode"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// fleetFile reads the run's fleet.json.
func (r *upRun) fleetFile() localmode.FleetFile {
	r.t.Helper()
	ff, err := localmode.ReadFleetFile(filepath.Join(r.workdir, localmode.FleetFileName))
	if err != nil {
		r.t.Fatal(err)
	}
	return ff
}

// hubClient connects to the run's hub, as a user would with its kubeconfig.
func (r *upRun) hubClient() *hub.Client {
	r.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", r.fleetFile().Hub.Kubeconfig)
	if err != nil {
		r.t.Fatal(err)
	}
	hc, err := hub.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return hc
}

// TestUpRunsTheFleetOnItsFunctions, on one fleet of `fnfleet up --members
// 1`: the member is made Ready by the functions; a resync sent with
// `fnfleet events send` is answered by its handlers; then, in the middle
// of a create (a FleetApp that needs a new cluster, its MemberCluster
// being provisioned), the event source, the scheduler and the hub's Fn
// server are killed with SIGKILL: up restarts each (new pids in
// fleet.json), the work completes (the app answers on its new member) and
// exactly one cluster was created for it. After Ctrl-C nothing of the
// fleet runs.
func TestUpRunsTheFleetOnItsFunctions(t *testing.T) {
	bin := upBinaries(t)
	r := startUp(t, bin, filepath.Join(t.TempDir(), "up"), "--members", "1", "--idle-ttl", "1h")
	r.await("the member Ready", func() bool { return strings.Contains(r.stdout.String(), "1 member cluster(s) Ready") })
	ff := r.fleetFile()
	if len(ff.Members) != 1 || ff.Members[0].Name != "local-eu-west-1" || ff.Members[0].Phase != string(v1alpha1.PhaseReady) || ff.Members[0].FnURL == "" {
		t.Fatalf("fleet.json members %+v, want local-eu-west-1 Ready with its Fn URL", ff.Members)
	}
	if ff.FnAPI == "" || ff.EventsURL != ff.FnAPI+"/t/fnfleet/events" || ff.SecretFile == "" {
		t.Fatalf("fleet.json names Fn API %q, events URL %q, secret file %q", ff.FnAPI, ff.EventsURL, ff.SecretFile)
	}
	before := ff.PIDs
	if before.HubFn == 0 || before.Scheduler == 0 || before.EventSource == 0 {
		t.Fatalf("fleet.json pids %+v, want all three", before)
	}

	t.Run("a resync by hand reaches the handlers", func(t *testing.T) {
		send := exec.Command(filepath.Join(bin, "fnfleet"), "events", "send", "--workdir", r.workdir,
			"--type", events.TypeResyncDue, "--subject", events.ScheduleResync, "--id", "resync-by-hand")
		out, err := send.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", send, err, out)
		}
		// The events function answers 2xx only once every handler of the
		// event answered 2xx (a handler's failure is its answer).
		if !strings.Contains(string(out), "delivered event resync-by-hand") || !strings.Contains(string(out), "status 20") {
			t.Errorf("events send printed:\n%s", out)
		}
	})

	t.Run("the fleet's processes killed during a create", func(t *testing.T) {
		ctx := t.Context()
		hc := r.hubClient()
		if _, err := hc.CreateFleetApp(ctx, demoApp()); err != nil {
			t.Fatal(err)
		}
		// Killed while the cluster for the app is being made.
		var created string
		r.await("a us-east MemberCluster provisioning", func() bool {
			mcs, err := hc.ListMemberClusters(ctx)
			if err != nil {
				return false
			}
			for _, mc := range mcs.Items {
				if mc.Spec.Region == demoRegion && mc.Status.Phase == v1alpha1.PhaseProvisioning {
					created = mc.Name
					return true
				}
			}
			return false
		})
		for _, pid := range []int{before.EventSource, before.Scheduler, before.HubFn} {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill -9 %d: %v", pid, err)
			}
		}
		r.await("three new pids in fleet.json", func() bool {
			now := r.fleetFile().PIDs
			return now.HubFn != 0 && now.HubFn != before.HubFn && now.Scheduler != 0 && now.Scheduler != before.Scheduler &&
				now.EventSource != 0 && now.EventSource != before.EventSource
		})

		var app *v1alpha1.FleetApp
		r.await("hello deployed", func() bool {
			a, err := hc.GetFleetApp(ctx, "default", "hello")
			if err != nil {
				return false
			}
			app = a
			c := apimeta.FindStatusCondition(a.Status.Conditions, v1alpha1.AppDeployed)
			return len(a.Status.Placement) == 1 && c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == a.Generation
		})
		if got := app.Status.Placement[0].Cluster; got != created {
			t.Errorf("hello placed on %s, want %s, the cluster created for it", got, created)
		}
		var fnURL string
		r.await(created+" in fleet.json with its Fn URL", func() bool {
			ms := r.fleetFile().Members
			i := slices.IndexFunc(ms, func(m localmode.FleetMember) bool { return m.Name == created })
			if i >= 0 {
				fnURL = ms[i].FnURL
			}
			return fnURL != ""
		})
		testbed.AssertEchoes(t, ctx, fnURL+"/t/hello/echo", "hello after the kills")
		mcs, err := hc.ListMemberClusters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var inRegion []string
		for _, mc := range mcs.Items {
			if mc.Spec.Region == demoRegion {
				inRegion = append(inRegion, mc.Name)
			}
		}
		if len(inRegion) != 1 || len(mcs.Items) != 2 {
			t.Errorf("MemberClusters in %s: %v (%d in all); want the one created for hello, and the first member", demoRegion, inRegion, len(mcs.Items))
		}
	})

	r.signal(syscall.SIGINT)
	r.assertNothingLeft(syscall.SIGINT)
}
