// Package e2e runs fnfleet end to end on real parts: clusters from the local
// provider, Fn installed with the installer, process data planes, the hub API
// and the placement engine, reached over real sockets.
package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/localmode"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// TestLocalFleetServesAPlacedApp is what `make run` shows, asserted: a hub
// and two members in two regions, Fn installed on both, an app placed on both
// by the engine, and the app answering through each member's published
// address.
func TestLocalFleetServesAPlacedApp(t *testing.T) {
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	echo := fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/echo")
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	workdir := t.TempDir()
	fleet, err := localmode.Up(ctx, localmode.Config{
		Binaries: bins,
		Workdir:  workdir,
		Members: []localmode.MemberSpec{
			{Name: "eu", Region: "eu-west", Tier: 1, CostPerHour: "0.40"},
			{Name: "us", Region: "us-east", Tier: 1, CostPerHour: "0.55"},
		},
		Images: map[string]string{"fnfleet/echo:0.0.1": echo},
		Logger: testbed.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = fleet.Close()
		}
	})

	// The members are registered in the hub with their capacity and
	// endpoint.
	hc, err := hub.New(fleet.Hub.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	mcs, err := hc.ListMemberClusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mcs.Items) != 2 {
		t.Fatalf("hub has %d MemberClusters, want 2", len(mcs.Items))
	}
	for _, mc := range mcs.Items {
		if mc.Status.Phase != v1alpha1.PhaseReady {
			t.Errorf("MemberCluster %s phase %q, want Ready", mc.Name, mc.Status.Phase)
		}
		if got := mc.Status.Allocatable.Cpu().String(); got != "48" {
			t.Errorf("MemberCluster %s allocatable cpu %s, want 48 (3 nodes x 16)", mc.Name, got)
		}
		if !strings.HasPrefix(mc.Status.FnEndpoint, "http://127.0.1.") {
			t.Errorf("MemberCluster %s Fn endpoint %q, want its loopback data plane", mc.Name, mc.Status.FnEndpoint)
		}
	}

	// One member read by name, as the shells read it; a missing object
	// is NotFound through the client's wrapping, which the placement shell
	// relies on to leave a deleted app alone.
	eu, err := hc.GetMemberCluster(ctx, "eu")
	if err != nil {
		t.Fatal(err)
	}
	if want := fleet.Member("eu").FnURL; eu.Status.FnEndpoint != want {
		t.Errorf("MemberCluster eu Fn endpoint %q, want %q", eu.Status.FnEndpoint, want)
	}
	if _, err := hc.GetFleetApp(ctx, "default", "nope"); !apierrors.IsNotFound(err) {
		t.Errorf("GetFleetApp of a missing app: %v, want NotFound", err)
	}

	// Fn is a real Helm release on each member, and its Service publishes
	// the data plane's address.
	for _, m := range fleet.Members {
		if m.Install.Revision != 1 {
			t.Errorf("member %s: Fn release revision %d, want 1", m.Spec.Name, m.Install.Revision)
		}
		client := kubernetes.NewForConfigOrDie(m.Cluster.RESTConfig)
		svcs, err := client.CoreV1().Services(m.Install.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=fn"})
		if err != nil {
			t.Fatal(err)
		}
		published := false
		for _, s := range svcs.Items {
			for _, ing := range s.Status.LoadBalancer.Ingress {
				published = published || ing.IP == m.Addr
			}
		}
		if !published {
			t.Errorf("member %s: no Fn Service publishes %s", m.Spec.Name, m.Addr)
		}
	}

	app, err := fleet.Deploy(ctx, &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: v1alpha1.FleetAppSpec{
			App: v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{
				Name: "echo", Image: "fnfleet/echo:0.0.1",
				Triggers: []v1alpha1.Trigger{{Name: "echo", Type: "http", Source: "/echo"}},
			}}},
			Demand: v1alpha1.Demand{Replicas: 4, CPU: resource.MustParse("250m"), Memory: resource.MustParse("256Mi")},
			Placement: v1alpha1.PlacementPolicy{
				Spread:          &v1alpha1.SpreadPolicy{MinClusters: 2, TopologyKey: "region", MinGroups: 2},
				ReplicaDivision: &v1alpha1.ReplicaDivision{Mode: v1alpha1.Divided, Weighting: v1alpha1.WeightFreeCapacity},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Status.Placement) != 2 {
		t.Fatalf("placed on %v (%s), want both members", app.Status.Placement, app.Status.Explanation)
	}
	var replicas int32
	for _, p := range app.Status.Placement {
		replicas += p.Replicas
	}
	if replicas != 4 {
		t.Errorf("placed %d replicas, want 4", replicas)
	}
	for _, typ := range []string{v1alpha1.AppPlaced, v1alpha1.AppDeployed} {
		if !conditionTrue(app.Status.Conditions, typ) {
			t.Errorf("condition %s not True: %+v", typ, app.Status.Conditions)
		}
	}

	for _, m := range fleet.Members {
		body := "hello " + m.Spec.Region
		resp, err := http.Post(m.FnURL+"/t/hello/echo", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != body {
			t.Errorf("member %s answered %d %q, want 200 %q", m.Spec.Name, resp.StatusCode, got, body)
		}
	}

	closed = true
	if err := fleet.Close(); err != nil {
		t.Fatal(err)
	}
	if left, err := local.ProcessesUnder(workdir); err != nil || len(left) > 0 {
		t.Fatalf("processes left after Close: %v (%v)", left, err)
	}
	for _, m := range fleet.Members {
		if resp, err := http.Get(m.FnURL); err == nil {
			resp.Body.Close()
			t.Errorf("member %s data plane still answers after Close", m.Spec.Name)
		}
	}
}

func conditionTrue(conds []metav1.Condition, typ string) bool {
	for _, c := range conds {
		if c.Type == typ {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}
