// Package static is the provider of clusters that exist already: a platform
// team registers a cluster by putting its kubeconfig in a Secret of the hub
// and naming that Secret in the MemberCluster's provider config. fnfleet
// observes such a cluster and installs Fn on it, but never creates, parks,
// scales or deletes it: the cluster is not fnfleet's.
//
// Config (spec.provider.config):
//
//	kubeconfigSecret  namespace/name of the Secret in the hub (required)
//	kubeconfigKey     the key holding the kubeconfig; default "value", the
//	                  key Cluster API uses, so a CAPI-made Secret works as is
package static

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
)

// Config keys this provider reads.
const (
	ConfigSecret = "kubeconfigSecret"
	ConfigKey    = "kubeconfigKey"
	// DefaultKey is the Secret key read when Config has no kubeconfigKey.
	DefaultKey = "value"
)

// probeTimeout bounds one /readyz probe of the member's apiserver: a healthy
// apiserver answers in milliseconds, and an Observe must return quickly
// (the lifecycle machine polls again), so 5 s only covers a slow network.
const probeTimeout = 5 * time.Second

// Provider observes static clusters through their kubeconfig Secrets in the
// hub.
type Provider struct {
	hub kubernetes.Interface
}

var _ providers.Provider = (*Provider)(nil)

// New returns a provider reading kubeconfig Secrets through hub.
func New(hub kubernetes.Interface) *Provider { return &Provider{hub: hub} }

// secretRef is where a static cluster's kubeconfig lives.
type secretRef struct{ namespace, name, key string }

func (r secretRef) String() string { return r.namespace + "/" + r.name }

// refOf reads the Secret reference from c's config.
func refOf(c providers.Cluster) (secretRef, error) {
	v := c.Config[ConfigSecret]
	ns, name, ok := strings.Cut(v, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return secretRef{}, fmt.Errorf("static cluster %s: provider config %s must be namespace/name of the kubeconfig Secret in the hub, got %q", c.Name, ConfigSecret, v)
	}
	key := c.Config[ConfigKey]
	if key == "" {
		key = DefaultKey
	}
	return secretRef{namespace: ns, name: name, key: key}, nil
}

// Create refuses: a static cluster exists before fnfleet hears of it.
func (p *Provider) Create(_ context.Context, c providers.Cluster) error {
	return fmt.Errorf("static clusters are registered, not created: put cluster %s's kubeconfig in the Secret that provider config %s names: %w", c.Name, ConfigSecret, providers.ErrUnsupported)
}

// Delete refuses: deleting the MemberCluster forgets a static cluster, and
// the cluster itself stays.
func (p *Provider) Delete(_ context.Context, c providers.Cluster) error {
	return fmt.Errorf("static clusters are registered, not created: delete the MemberCluster to forget %s; the cluster itself is not fnfleet's to delete: %w", c.Name, providers.ErrUnsupported)
}

// Park accepts only Never: fnfleet cannot stop or shrink a cluster it does
// not own.
func (p *Provider) Park(_ context.Context, c providers.Cluster, mode v1alpha1.ParkingMode) error {
	if mode == v1alpha1.ParkingNever {
		return nil
	}
	return fmt.Errorf("static cluster %s cannot park with mode %s, only Never: fnfleet does not own the cluster: %w", c.Name, mode, providers.ErrUnsupported)
}

// Unpark succeeds: a static cluster is never parked.
func (p *Provider) Unpark(context.Context, providers.Cluster) error { return nil }

// ScaleNodes refuses: the cluster's owner sizes it.
func (p *Provider) ScaleNodes(_ context.Context, c providers.Cluster, n int32) error {
	return fmt.Errorf("static cluster %s cannot scale to %d nodes: its owner sizes it, not fnfleet: %w", c.Name, n, providers.ErrUnsupported)
}

// Kubeconfig returns the Secret's kubeconfig.
func (p *Provider) Kubeconfig(ctx context.Context, c providers.Cluster) ([]byte, error) {
	ref, err := refOf(c)
	if err != nil {
		return nil, err
	}
	kubeconfig, why, err := p.read(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("static cluster %s: %w", c.Name, err)
	}
	if why != "" {
		return nil, fmt.Errorf("static cluster %s: %s", c.Name, why)
	}
	return kubeconfig, nil
}

// Observe reports the cluster Running when its kubeconfig Secret exists and
// its apiserver answers /readyz. Otherwise the cluster does not exist as
// far as fnfleet can tell, and Message says what is missing; a probe that
// fails is reported there too, not as an error, since an unreachable member
// is an observation, not a failure of the call.
func (p *Provider) Observe(ctx context.Context, c providers.Cluster) (providers.State, error) {
	ref, err := refOf(c)
	if err != nil {
		return providers.State{}, err
	}
	kubeconfig, why, err := p.read(ctx, ref)
	if err != nil {
		return providers.State{}, fmt.Errorf("static cluster %s: %w", c.Name, err)
	}
	if why != "" {
		return providers.State{Message: why}, nil
	}
	st := providers.State{KubeconfigReady: true}
	member, host, err := clientFor(kubeconfig)
	if err != nil {
		st.Message = fmt.Sprintf("the kubeconfig in Secret %s key %s is unusable: %v", ref, ref.key, err)
		return st, nil
	}
	if err := readyz(ctx, member); err != nil {
		st.Message = fmt.Sprintf("the apiserver at %s does not answer /readyz: %v", host, err)
		return st, nil
	}
	nodes, err := workers(ctx, member)
	if err != nil {
		st.Message = fmt.Sprintf("the apiserver at %s answers /readyz but listing nodes failed: %v", host, err)
		return st, nil
	}
	st.Exists, st.Progress, st.Nodes = true, lifecycle.ProgressRunning, nodes
	return st, nil
}

// read returns the kubeconfig in ref, or why there is none (a missing
// Secret or key is the user's to fix, not an error of the call).
func (p *Provider) read(ctx context.Context, ref secretRef) (kubeconfig []byte, why string, err error) {
	s, err := p.hub.CoreV1().Secrets(ref.namespace).Get(ctx, ref.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Sprintf("kubeconfig Secret %s not found in the hub: create it with the cluster's kubeconfig under key %s", ref, ref.key), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read kubeconfig Secret %s: %w", ref, err)
	}
	v := s.Data[ref.key]
	if len(v) == 0 {
		return nil, fmt.Sprintf("kubeconfig Secret %s has no key %s (keys: %s)", ref, ref.key, keys(s)), nil
	}
	return v, "", nil
}

func keys(s *corev1.Secret) string {
	var ks []string
	for k := range s.Data {
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

func clientFor(kubeconfig []byte) (kubernetes.Interface, string, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, "", err
	}
	cfg.Timeout = probeTimeout
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	return client, cfg.Host, nil
}

func readyz(ctx context.Context, member kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	body, err := member.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(string(body)); s != "ok" {
		return errors.New("answered " + s)
	}
	return nil
}

// workers counts the nodes that are not control-plane nodes: the capacity
// apps can use.
func workers(ctx context.Context, member kubernetes.Interface) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	// ResourceVersion 0 lets the apiserver answer from its watch cache, so
	// a probe of a 5,000-node cluster does not reach etcd.
	nodes, err := member.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, err
	}
	var n int32
	for i := range nodes.Items {
		if _, cp := nodes.Items[i].Labels["node-role.kubernetes.io/control-plane"]; !cp {
			n++
		}
	}
	return n, nil
}
