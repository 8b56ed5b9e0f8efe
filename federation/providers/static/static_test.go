package static_test

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/federation/providers/static"
	"github.com/fnfleet/fnfleet/test/testbed"
)

const secretNS = "fnfleet-system"

func member(secret string) providers.Cluster {
	return providers.Cluster{Name: "on-prem", Config: map[string]string{static.ConfigSecret: secretNS + "/" + secret}}
}

// TestRefusesWhatAStaticClusterCannotDo needs no cluster: every refusal is
// decided before the hub is asked.
func TestRefusesWhatAStaticClusterCannotDo(t *testing.T) {
	p := static.New(nil)
	ctx := t.Context()
	c := member("on-prem-kubeconfig")

	for name, err := range map[string]error{
		"Create": p.Create(ctx, c),
		"Delete": p.Delete(ctx, c),
	} {
		if !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("%s: got %v, want ErrUnsupported", name, err)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "static clusters are registered, not created: ") {
			t.Errorf("%s: message %q does not say static clusters are registered", name, err)
		}
	}
	for _, mode := range []v1alpha1.ParkingMode{v1alpha1.ParkingStop, v1alpha1.ParkingScaleToZero, v1alpha1.ParkingDelete} {
		if err := p.Park(ctx, c, mode); !errors.Is(err, providers.ErrUnsupported) || !strings.Contains(err.Error(), "only Never") {
			t.Errorf("Park %s: got %v, want ErrUnsupported saying only Never", mode, err)
		}
	}
	if err := p.Park(ctx, c, v1alpha1.ParkingNever); err != nil {
		t.Errorf("Park Never: %v", err)
	}
	if err := p.Unpark(ctx, c); err != nil {
		t.Errorf("Unpark: %v", err)
	}
	if err := p.ScaleNodes(ctx, c, 3); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("ScaleNodes: got %v, want ErrUnsupported", err)
	}
	for _, bad := range []string{"", "no-namespace", "/name", "ns/", "a/b/c"} {
		c := providers.Cluster{Name: "on-prem", Config: map[string]string{static.ConfigSecret: bad}}
		if _, err := p.Observe(ctx, c); err == nil || !strings.Contains(err.Error(), "must be namespace/name") {
			t.Errorf("Observe with %s=%q: got %v, want a config error", static.ConfigSecret, bad, err)
		}
	}
}

func TestObservesARegisteredCluster(t *testing.T) {
	clusters := testbed.StartN(t,
		local.ClusterSpec{Region: "hub", Zone: "hub-1"},
		local.ClusterSpec{Region: "on-prem", Zone: "on-prem-1", Nodes: 2},
	)
	hubCluster, memberCluster := clusters[0], clusters[1]
	hub := kubernetes.NewForConfigOrDie(hubCluster.RESTConfig)
	p := static.New(hub)
	ctx := t.Context()
	if _, err := hub.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secretNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := testbed.Kubeconfig(t, memberCluster)

	t.Run("no Secret yet", func(t *testing.T) {
		st := observe(t, p, member("on-prem-kubeconfig"))
		if st.Exists || st.KubeconfigReady || !strings.Contains(st.Message, "kubeconfig Secret fnfleet-system/on-prem-kubeconfig not found") {
			t.Errorf("got %+v, want not existing, saying the Secret is not found", st)
		}
		if _, err := p.Kubeconfig(ctx, member("on-prem-kubeconfig")); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("Kubeconfig: got %v, want not found", err)
		}
	})

	putSecret(t, hub, "on-prem-kubeconfig", map[string][]byte{static.DefaultKey: kubeconfig})

	t.Run("running", func(t *testing.T) {
		st := observe(t, p, member("on-prem-kubeconfig"))
		want := providers.State{Exists: true, Progress: lifecycle.ProgressRunning, Nodes: 2, KubeconfigReady: true}
		if st != want {
			t.Errorf("got %+v, want %+v", st, want)
		}
	})

	t.Run("kubeconfig reaches the member", func(t *testing.T) {
		got, err := p.Kubeconfig(ctx, member("on-prem-kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		nodes := testbed.NodesVia(ctx, t, got)
		if len(nodes) != 2 || nodes[0].Labels[corev1.LabelTopologyRegion] != "on-prem" {
			t.Errorf("the kubeconfig reaches %d nodes, want the member's 2 in on-prem", len(nodes))
		}
	})

	t.Run("another key", func(t *testing.T) {
		putSecret(t, hub, "other-key", map[string][]byte{"kubeconfig": kubeconfig})
		c := member("other-key")
		st := observe(t, p, c)
		if st.Exists || !strings.Contains(st.Message, "has no key value (keys: kubeconfig)") {
			t.Errorf("default key: got %+v, want a message naming the missing key", st)
		}
		c.Config[static.ConfigKey] = "kubeconfig"
		if st := observe(t, p, c); !st.Exists || st.Progress != lifecycle.ProgressRunning {
			t.Errorf("kubeconfigKey=kubeconfig: got %+v, want Running", st)
		}
	})

	t.Run("apiserver not answering", func(t *testing.T) {
		cfg, err := clientcmd.Load(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		for _, cl := range cfg.Clusters {
			cl.Server = "https://127.0.0.1:1" // nothing listens on port 1
		}
		dead, err := clientcmd.Write(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		putSecret(t, hub, "dead", map[string][]byte{static.DefaultKey: dead})
		st := observe(t, p, member("dead"))
		if st.Exists || !st.KubeconfigReady || !strings.Contains(st.Message, "the apiserver at https://127.0.0.1:1 does not answer /readyz") {
			t.Errorf("got %+v, want not existing, kubeconfig readable, saying /readyz does not answer", st)
		}
	})
}

func observe(t *testing.T, p *static.Provider, c providers.Cluster) providers.State {
	t.Helper()
	st, err := p.Observe(t.Context(), c)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return st
}

func putSecret(t *testing.T, hub kubernetes.Interface, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secretNS, Name: name}, Data: data}
	if _, err := hub.CoreV1().Secrets(secretNS).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
