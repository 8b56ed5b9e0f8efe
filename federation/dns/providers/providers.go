// Package providers builds a DNSZone's provider from its spec, reading the
// credentials its Secret references name: the one place that knows every
// provider type.
package providers

import (
	"context"
	"fmt"
	"log/slog"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/coredns"
	"github.com/fnfleet/fnfleet/federation/dns/externaldns"
	"github.com/fnfleet/fnfleet/federation/dns/rfc2136"
)

// Env is what building a provider may need from the hub.
type Env struct {
	// Secrets reads the Secrets a zone references.
	Secrets func(namespace string) corev1client.SecretInterface
	// Dynamic writes DNSEndpoint objects (externaldns).
	Dynamic dynamic.Interface
	Logger  *slog.Logger
}

// New returns zone's provider. Its errors say which setting or Secret is
// wrong.
func New(ctx context.Context, zone *v1alpha1.DNSZone, env Env) (dns.Provider, error) {
	log := env.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("zone", zone.Name)
	p := zone.Spec.Provider
	switch {
	case p.Type == v1alpha1.DNSProviderRFC2136 && p.RFC2136 != nil:
		secret, err := secretValue(ctx, env, p.RFC2136.TSIGSecretRef, "secret")
		if err != nil {
			return nil, fmt.Errorf("DNSZone %s: TSIG secret: %w", zone.Name, err)
		}
		prov, err := rfc2136.New(rfc2136.Config{Server: p.RFC2136.Server, Zone: zone.Spec.Zone, KeyName: p.RFC2136.TSIGKeyName,
			Algorithm: p.RFC2136.TSIGAlgorithm, Secret: secret, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("DNSZone %s: %w", zone.Name, err)
		}
		return prov, nil
	case p.Type == v1alpha1.DNSProviderCoreDNS && p.CoreDNS != nil:
		cfg := coredns.Config{Endpoints: p.CoreDNS.EtcdEndpoints, Prefix: p.CoreDNS.Prefix, Zone: zone.Spec.Zone, Logger: log}
		if ref := p.CoreDNS.CredentialsSecretRef; ref != nil {
			var err error
			if cfg.Username, err = secretValue(ctx, env, v1alpha1.SecretKeyRef{Namespace: ref.Namespace, Name: ref.Name, Key: "username"}, "username"); err != nil {
				return nil, fmt.Errorf("DNSZone %s: etcd credentials: %w", zone.Name, err)
			}
			if cfg.Password, err = secretValue(ctx, env, v1alpha1.SecretKeyRef{Namespace: ref.Namespace, Name: ref.Name, Key: "password"}, "password"); err != nil {
				return nil, fmt.Errorf("DNSZone %s: etcd credentials: %w", zone.Name, err)
			}
		}
		prov, err := coredns.New(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("DNSZone %s: %w", zone.Name, err)
		}
		return prov, nil
	case p.Type == v1alpha1.DNSProviderExternalDNS && p.ExternalDNS != nil:
		geo := map[string]map[string]string{}
		for _, g := range p.ExternalDNS.GeoLocations {
			geo[g.Region] = g.Properties
		}
		prov, err := externaldns.New(externaldns.Config{Client: env.Dynamic, Namespace: p.ExternalDNS.Namespace, Zone: zone.Spec.Zone,
			OwnerID: zone.Spec.OwnerID, Weighted: p.ExternalDNS.Weighted, Geo: p.ExternalDNS.Geo, GeoProperties: geo, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("DNSZone %s: %w", zone.Name, err)
		}
		return prov, nil
	}
	return nil, fmt.Errorf("DNSZone %s: provider type %q without its settings block: set spec.provider.%s", zone.Name, p.Type, p.Type)
}

// secretValue reads ref's key (def when ref names none).
func secretValue(ctx context.Context, env Env, ref v1alpha1.SecretKeyRef, def string) (string, error) {
	key := ref.Key
	if key == "" {
		key = def
	}
	if env.Secrets == nil {
		return "", fmt.Errorf("no access to Secrets to read %s/%s", ref.Namespace, ref.Name)
	}
	s, err := env.Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	v, ok := s.Data[key]
	if !ok || len(v) == 0 {
		return "", fmt.Errorf("the Secret %s/%s has no key %q: add it, or name the key that holds it", ref.Namespace, ref.Name, key)
	}
	return string(v), nil
}
