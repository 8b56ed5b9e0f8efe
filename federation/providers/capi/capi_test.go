package capi_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/capi"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// The test plays Cluster API's controllers against the real Cluster CRD:
// it writes the status they would write and the kubeconfig Secret of a real
// (kwok) member cluster, and checks what the provider makes of it.
func TestClusterLifeOnARealHub(t *testing.T) {
	clusters := testbed.StartN(t,
		local.ClusterSpec{Region: "hub", Zone: "hub-1"},
		local.ClusterSpec{Region: "eu-west", Zone: "eu-west-1", Nodes: 3},
	)
	hubCluster, memberCluster := clusters[0], clusters[1]
	ctx := t.Context()
	installCRD(t, hubCluster.RESTConfig)
	hub := kubernetes.NewForConfigOrDie(hubCluster.RESTConfig)
	if _, err := hub.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: capi.DefaultNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := capi.New(hubCluster.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	capiCtl := newController(t, hubCluster.RESTConfig)
	c := providers.Cluster{
		Name: "eu-west-a", Region: "eu-west", Zone: "eu-west-1", Nodes: 3,
		Config: map[string]string{capi.ConfigClass: "quick-start", capi.ConfigVersion: "v1.34.1"},
	}

	if st, err := p.Observe(ctx, c); err != nil || st != (providers.State{}) {
		t.Fatalf("before Create: got %+v, %v; want the zero State", st, err)
	}

	t.Run("create is idempotent", func(t *testing.T) {
		for range 2 {
			if err := p.Create(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		var list clusterv1.ClusterList
		if err := capiCtl.Get().Namespace(capi.DefaultNamespace).Resource("clusters").Do(ctx).Into(&list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("%d Clusters after two creates, want 1", len(list.Items))
		}
		cl := list.Items[0]
		topo := cl.Spec.Topology
		md := topo.Workers.MachineDeployments
		if topo.ClassRef.Name != "quick-start" || topo.Version != "v1.34.1" || len(md) != 1 ||
			md[0].Name != capi.WorkersName || md[0].Class != capi.DefaultWorkerClass || ptr.Deref(md[0].Replicas, -1) != 3 {
			t.Errorf("topology %+v, want class quick-start, v1.34.1, one MachineDeployment of 3 %s", topo, capi.DefaultWorkerClass)
		}
		if cl.Labels[capi.MemberClusterLabel] != c.Name || cl.Labels[corev1.LabelTopologyRegion] != "eu-west" {
			t.Errorf("labels %v, want the member cluster and its region", cl.Labels)
		}
	})

	t.Run("a Cluster fnfleet did not make is not adopted", func(t *testing.T) {
		foreign := &clusterv1.Cluster{
			ObjectMeta: metav1.ObjectMeta{Namespace: capi.DefaultNamespace, Name: "someone-elses"},
			Spec: clusterv1.ClusterSpec{Topology: clusterv1.Topology{
				ClassRef: clusterv1.ClusterClassRef{Name: "quick-start"}, Version: "v1.34.1",
			}},
		}
		if err := capiCtl.Post().Namespace(capi.DefaultNamespace).Resource("clusters").Body(foreign).Do(ctx).Error(); err != nil {
			t.Fatal(err)
		}
		other := c
		other.Name = "someone-elses"
		if err := p.Create(ctx, other); err == nil || !strings.Contains(err.Error(), "fnfleet did not make") {
			t.Errorf("got %v, want a refusal to adopt", err)
		}
	})

	t.Run("Creating, then Running", func(t *testing.T) {
		st := observe(t, p, c)
		if !st.Exists || st.Progress != lifecycle.ProgressCreating || st.KubeconfigReady {
			t.Errorf("fresh Cluster: got %+v, want Creating without a kubeconfig", st)
		}
		capiCtl.setStatus(t, c.Name, func(s *clusterv1.ClusterStatus) {
			s.Phase = string(clusterv1.ClusterPhaseProvisioning)
			meta.SetStatusCondition(&s.Conditions, metav1.Condition{
				Type: clusterv1.ClusterControlPlaneAvailableCondition, Status: metav1.ConditionFalse,
				Reason: "Provisioning", Message: "waiting for the first control plane machine",
			})
		})
		st = observe(t, p, c)
		if st.Progress != lifecycle.ProgressCreating || !strings.Contains(st.Message, "Provisioning; control plane: waiting for the first control plane machine") {
			t.Errorf("Provisioning: got %+v, want Creating with CAPI's message", st)
		}

		capiCtl.setStatus(t, c.Name, func(s *clusterv1.ClusterStatus) {
			s.Phase = string(clusterv1.ClusterPhaseProvisioned)
			for _, typ := range []string{clusterv1.ClusterControlPlaneAvailableCondition, clusterv1.ClusterAvailableCondition} {
				meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: "Available"})
			}
			s.Workers = &clusterv1.WorkersStatus{Replicas: ptr.To[int32](3), ReadyReplicas: ptr.To[int32](3)}
		})
		st = observe(t, p, c)
		if st.Progress != lifecycle.ProgressRunning || st.KubeconfigReady || st.Nodes != 3 || !strings.Contains(st.Message, "eu-west-a-kubeconfig") {
			t.Errorf("Provisioned, no Secret yet: got %+v, want Running with 3 nodes, the kubeconfig not ready and the Secret named", st)
		}

		writeKubeconfig(t, hub, c.Name, testbed.Kubeconfig(t, memberCluster))
		want := providers.State{Exists: true, Progress: lifecycle.ProgressRunning, Nodes: 3, KubeconfigReady: true}
		if st := observe(t, p, c); st != want {
			t.Errorf("Provisioned with its Secret: got %+v, want %+v", st, want)
		}
	})

	t.Run("kubeconfig reaches the member", func(t *testing.T) {
		kubeconfig, err := p.Kubeconfig(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		nodes := testbed.NodesVia(ctx, t, kubeconfig)
		if len(nodes) != 3 || nodes[0].Labels[corev1.LabelTopologyRegion] != "eu-west" {
			t.Errorf("the kubeconfig reaches %d nodes, want the member's 3 in eu-west", len(nodes))
		}
	})

	t.Run("park scales workers to zero, unpark restores them", func(t *testing.T) {
		if err := p.Park(ctx, c, v1alpha1.ParkingStop); !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("Park Stop: got %v, want ErrUnsupported", err)
		}
		for range 2 { // parking a parked cluster is success and keeps the count
			if err := p.Park(ctx, c, v1alpha1.ParkingScaleToZero); err != nil {
				t.Fatal(err)
			}
		}
		cl := capiCtl.get(t, c.Name)
		if got := replicas(cl); got != 0 || cl.Annotations[capi.ParkedWorkersAnnotation] != "3" {
			t.Fatalf("parked: replicas %d, annotation %q; want 0 and 3", got, cl.Annotations[capi.ParkedWorkersAnnotation])
		}
		// CAPI's controllers delete the machines.
		capiCtl.setStatus(t, c.Name, func(s *clusterv1.ClusterStatus) {
			s.Workers = &clusterv1.WorkersStatus{Replicas: ptr.To[int32](0), ReadyReplicas: ptr.To[int32](0)}
		})
		if st := observe(t, p, c); st.Progress != lifecycle.ProgressRunning || st.Nodes != 0 {
			t.Errorf("parked: got %+v, want Running with 0 nodes (the control plane stays)", st)
		}

		for range 2 {
			if err := p.Unpark(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		cl = capiCtl.get(t, c.Name)
		if got := replicas(cl); got != 3 || cl.Annotations[capi.ParkedWorkersAnnotation] != "" {
			t.Errorf("unparked: replicas %d, annotation %q; want 3 and none", got, cl.Annotations[capi.ParkedWorkersAnnotation])
		}

		if err := p.ScaleNodes(ctx, c, 5); err != nil {
			t.Fatal(err)
		}
		if got := replicas(capiCtl.get(t, c.Name)); got != 5 {
			t.Errorf("scaled: replicas %d, want 5", got)
		}
	})

	t.Run("Failed with CAPI's message", func(t *testing.T) {
		capiCtl.setStatus(t, c.Name, func(s *clusterv1.ClusterStatus) {
			s.Phase = "Failed" // what v1beta1-era controllers set; v1beta2 ones no longer do
			meta.SetStatusCondition(&s.Conditions, metav1.Condition{
				Type: clusterv1.ClusterAvailableCondition, Status: metav1.ConditionFalse,
				Reason: "InfrastructureNotReady", Message: "quota exceeded for instance shape VM.Standard.E4",
			})
		})
		st := observe(t, p, c)
		if st.Progress != lifecycle.ProgressFailed || !strings.Contains(st.Message, "Available: quota exceeded for instance shape VM.Standard.E4") {
			t.Errorf("got %+v, want Failed with the condition's message", st)
		}
	})

	t.Run("delete removes the Cluster", func(t *testing.T) {
		// CAPI's finalizer holds the Cluster while its machines go.
		capiCtl.update(t, c.Name, func(cl *clusterv1.Cluster) { cl.Finalizers = []string{"cluster.cluster.x-k8s.io"} })
		if err := p.Delete(ctx, c); err != nil {
			t.Fatal(err)
		}
		if st := observe(t, p, c); !st.Exists || st.Progress != lifecycle.ProgressDeleting {
			t.Errorf("while CAPI tears down: got %+v, want Deleting", st)
		}
		capiCtl.update(t, c.Name, func(cl *clusterv1.Cluster) { cl.Finalizers = nil })
		for range 2 { // deleting a deleted cluster is success
			if err := p.Delete(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if st := observe(t, p, c); st != (providers.State{}) {
			t.Errorf("after delete: got %+v, want the zero State", st)
		}
	})
}

func observe(t *testing.T, p *capi.Provider, c providers.Cluster) providers.State {
	t.Helper()
	st, err := p.Observe(t.Context(), c)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return st
}

func replicas(cl *clusterv1.Cluster) int32 {
	for _, md := range cl.Spec.Topology.Workers.MachineDeployments {
		if md.Name == capi.WorkersName {
			return ptr.Deref(md.Replicas, -1)
		}
	}
	return -1
}

// installCRD installs the Cluster CRD generated from CAPI's API types
// (make capi-crds) and waits until it is served.
func installCRD(t *testing.T, cfg *rest.Config) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "crds", "cluster.x-k8s.io_clusters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		t.Fatal(err)
	}
	client := apiextensions.NewForConfigOrDie(cfg)
	if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(t.Context(), &crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not established: %v", crd.Name, err)
	}
}

// controller stands in for CAPI's controllers: it reads Clusters and writes
// their status and finalizers.
type controller struct{ rest.Interface }

func newController(t *testing.T, cfg *rest.Config) controller {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clusterv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &clusterv1.GroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		t.Fatal(err)
	}
	return controller{rc}
}

func (c controller) get(t *testing.T, name string) *clusterv1.Cluster {
	t.Helper()
	cl := &clusterv1.Cluster{}
	if err := c.Get().Namespace(capi.DefaultNamespace).Resource("clusters").Name(name).Do(t.Context()).Into(cl); err != nil {
		t.Fatal(err)
	}
	return cl
}

func (c controller) update(t *testing.T, name string, change func(*clusterv1.Cluster)) {
	t.Helper()
	cl := c.get(t, name)
	change(cl)
	if err := c.Put().Namespace(capi.DefaultNamespace).Resource("clusters").Name(name).Body(cl).Do(t.Context()).Error(); err != nil {
		t.Fatal(err)
	}
}

func (c controller) setStatus(t *testing.T, name string, change func(*clusterv1.ClusterStatus)) {
	t.Helper()
	cl := c.get(t, name)
	change(&cl.Status)
	for i := range cl.Status.Conditions {
		cl.Status.Conditions[i].LastTransitionTime = metav1.Now()
	}
	if err := c.Put().Namespace(capi.DefaultNamespace).Resource("clusters").Name(name).SubResource("status").Body(cl).Do(t.Context()).Error(); err != nil {
		t.Fatal(err)
	}
}

// writeKubeconfig writes the Secret CAPI writes once a control plane serves.
func writeKubeconfig(t *testing.T, hub kubernetes.Interface, cluster string, kubeconfig []byte) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: capi.DefaultNamespace, Name: cluster + "-kubeconfig"},
		Type:       "cluster.x-k8s.io/secret",
		Data:       map[string][]byte{capi.KubeconfigKey: kubeconfig},
	}
	if _, err := hub.CoreV1().Secrets(capi.DefaultNamespace).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
