package installer

import (
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Target is the cluster to install into: a rest.Config (what the fleet has for
// the clusters it creates) or a kubeconfig file (what a person has).
type Target struct {
	// RESTConfig wins when set.
	RESTConfig *rest.Config
	// KubeconfigPath is read when RESTConfig is nil.
	KubeconfigPath string
	// Context selects a kubeconfig context; empty means the current one.
	Context string
}

// restConfig returns a private copy of the target's client configuration,
// with client-side rate limits raised: a release touches a dozen objects and
// polls them while waiting, and client-go's defaults (5 QPS) would make the
// installer throttle itself.
func (t Target) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	switch {
	case t.RESTConfig != nil:
		cfg = rest.CopyConfig(t.RESTConfig)
	case t.KubeconfigPath != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: t.KubeconfigPath}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: t.Context}
		c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("read kubeconfig %s: %w", t.KubeconfigPath, err)
		}
		cfg = c
	default:
		return nil, errors.New("no cluster given: set a rest.Config or a kubeconfig path")
	}
	if cfg.QPS == 0 {
		cfg.QPS = 50
	}
	if cfg.Burst == 0 {
		cfg.Burst = 100
	}
	return cfg, nil
}

// restGetter gives Helm its Kubernetes clients from one rest.Config, with a
// discovery cache that lives as long as one installer call.
type restGetter struct {
	cfg       *rest.Config
	namespace string

	once      sync.Once
	discovery discovery.CachedDiscoveryInterface
	err       error
}

func newRESTGetter(cfg *rest.Config, namespace string) *restGetter {
	return &restGetter{cfg: cfg, namespace: namespace}
}

func (g *restGetter) ToRESTConfig() (*rest.Config, error) {
	return rest.CopyConfig(g.cfg), nil
}

func (g *restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.once.Do(func() {
		dc, err := discovery.NewDiscoveryClientForConfig(rest.CopyConfig(g.cfg))
		if err != nil {
			g.err = fmt.Errorf("create discovery client: %w", err)
			return
		}
		g.discovery = memory.NewMemCacheClient(dc)
	})
	return g.discovery, g.err
}

func (g *restGetter) ToRESTMapper() (meta.RESTMapper, error) {
	dc, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(dc)
	return restmapper.NewShortcutExpander(mapper, dc, nil), nil
}

func (g *restGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return staticClientConfig{cfg: g.cfg, namespace: g.namespace}
}

// staticClientConfig answers Helm's kubeconfig questions from a rest.Config:
// Helm only asks it for the namespace and the client configuration.
type staticClientConfig struct {
	cfg       *rest.Config
	namespace string
}

func (c staticClientConfig) RawConfig() (clientcmdapi.Config, error) {
	return clientcmdapi.Config{}, nil
}

func (c staticClientConfig) ClientConfig() (*rest.Config, error) {
	return rest.CopyConfig(c.cfg), nil
}

func (c staticClientConfig) Namespace() (string, bool, error) {
	return c.namespace, true, nil
}

func (c staticClientConfig) ConfigAccess() clientcmd.ConfigAccess {
	return clientcmd.NewDefaultClientConfigLoadingRules()
}
