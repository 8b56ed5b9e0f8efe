package testbed

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/fnfleet/fnfleet/federation/providers/local"
)

// Kubeconfig returns c's admin kubeconfig as one self-contained document,
// its certificates inlined, as a kubeconfig Secret holds it (kwokctl's file
// points at certificate files in the cluster's directory).
func Kubeconfig(t testing.TB, c *local.Cluster) []byte {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(c.KubeconfigPath)
	if err != nil {
		t.Fatalf("testbed: load kubeconfig of %s: %v", c.Name, err)
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		t.Fatalf("testbed: inline the certificates of %s's kubeconfig: %v", c.Name, err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatalf("testbed: encode kubeconfig of %s: %v", c.Name, err)
	}
	return data
}

// NodesVia lists the nodes of the cluster that kubeconfig reaches, as a
// provider's caller would use the kubeconfig it handed out; it fails the
// test if the kubeconfig does not reach a cluster.
func NodesVia(ctx context.Context, t testing.TB, kubeconfig []byte) []corev1.Node {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatalf("testbed: parse kubeconfig: %v", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("testbed: client from kubeconfig: %v", err)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("testbed: list nodes through the kubeconfig: %v", err)
	}
	return nodes.Items
}
