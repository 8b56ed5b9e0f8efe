package observe

import (
	"context"
	"fmt"
	corev1 "k8s.io/api/core/v1"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// listTimeout bounds listing a member's nodes and pods: a 5000-node
// cluster's pod list is tens of megabytes, which a healthy apiserver serves
// from its watch cache in a few seconds; 30 s is a stuck one.
const listTimeout = 30 * time.Second

// Report is what one look at a member saw. Each probe has its own error,
// so that a dead Fn on a live apiserver, or a dead apiserver, is told
// apart.
type Report struct {
	// APIServer is why the apiserver did not answer /readyz with ok; nil
	// when it did.
	APIServer error
	// Fn is why the Fn server did not answer GET /version; nil when it did.
	Fn error
	// List is why the nodes or pods could not be listed; nil when Usage
	// holds what they add up to. Listing is skipped when /readyz failed.
	List error
	// Usage is valid when APIServer and List are nil.
	Usage Resources
	// Ingress are the load-balancer addresses of the Fn Services (where
	// DNS sends an app's callers), valid when APIServer and List are nil.
	Ingress []corev1.LoadBalancerIngress
}

// Reached reports whether the member's apiserver answered and its usage
// was read.
func (r *Report) Reached() bool { return r.APIServer == nil && r.List == nil }

// Cluster looks at the member that cfg reaches and whose Fn serves at
// fnEndpoint: its apiserver's /readyz, Fn's GET /version (through hc), and
// the usage its nodes and pods add up to. It returns what it saw, never an
// error: a failing probe is an observation.
func Cluster(ctx context.Context, cfg *rest.Config, hc *http.Client, fnEndpoint string) Report {
	var r Report
	fnDone := make(chan error, 1)
	// Both probes are bounded by probeTimeout; run side by side, a member
	// whose apiserver and Fn are both gone costs 3 s, not 6.
	go func() { fnDone <- FnAnswers(ctx, hc, fnEndpoint) }()

	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		r.APIServer = fmt.Errorf("client for the apiserver at %s: %w", cfg.Host, err)
		r.List = r.APIServer
		r.Fn = <-fnDone
		return r
	}
	if err := Ready(ctx, client); err != nil {
		r.APIServer = fmt.Errorf("apiserver at %s: %w", cfg.Host, err)
		r.List = fmt.Errorf("nodes and pods not listed: %w", r.APIServer)
		r.Fn = <-fnDone
		return r
	}
	r.Usage, r.List = listUsage(ctx, client)
	if r.List == nil {
		r.Ingress, r.List = fnIngress(ctx, client)
	}
	r.Fn = <-fnDone
	return r
}

// Ready checks that the apiserver answers GET /readyz with ok within
// probeTimeout.
func Ready(ctx context.Context, client kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		// DoRaw's error carries the body, which lists the failing checks.
		return fmt.Errorf("GET /readyz: %w", err)
	}
	if string(body) != "ok" {
		return fmt.Errorf("GET /readyz answered %q, want ok", body)
	}
	return nil
}

func listUsage(ctx context.Context, client kubernetes.Interface) (Resources, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return Resources{}, fmt.Errorf("list nodes: %w", err)
	}
	// Ended pods are dropped by the apiserver: a cluster that ran many
	// Jobs keeps thousands of them, none of which holds resources.
	pods, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
	})
	if err != nil {
		return Resources{}, fmt.Errorf("list pods: %w", err)
	}
	return Usage(nodes.Items, pods.Items), nil
}

// fnIngress lists the load-balancer addresses of the Fn Services in every
// namespace.
func fnIngress(ctx context.Context, client kubernetes.Interface) ([]corev1.LoadBalancerIngress, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	svcs, err := fnLoadBalancers(ctx, client, metav1.NamespaceAll)
	if err != nil {
		return nil, err
	}
	var out []corev1.LoadBalancerIngress
	for i := range svcs {
		out = append(out, svcs[i].Status.LoadBalancer.Ingress...)
	}
	return out, nil
}
