package dnstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// StartEtcd runs a one-member etcd (bin/etcd, as `make tools` builds it) on
// free loopback ports until the test ends, and returns its client URL. It
// is the store CoreDNS' etcd plugin answers from; the clusters of the test
// bed have their own etcd, which is theirs alone.
func StartEtcd(t testing.TB) string {
	t.Helper()
	bin := toolBinary(t, "etcd")
	for attempt := 1; ; attempt++ {
		dir := t.TempDir()
		client, peer := "http://"+loopbackPort(t), "http://"+loopbackPort(t)
		s := spawnServer(t, "etcd", filepath.Join(dir, "etcd.log"), bin,
			"--name", "dnstest",
			"--data-dir", filepath.Join(dir, "data"),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "dnstest="+peer,
			// Metrics on the client port, not on another one that might
			// be taken.
			"--listen-metrics-urls", "",
		)
		err := s.waitUntil(func() error { return etcdHealthy(t.Context(), client) })
		if err == nil {
			return client
		}
		if errors.Is(err, errExited) && s.addrInUse() && attempt < startTries {
			continue
		}
		t.Fatalf("dnstest: etcd on %s: %v\n%s", client, err, s.logTail())
	}
}

// etcdHealthy asks etcd's /health endpoint, which says true once the
// member has a leader and serves requests.
func etcdHealthy(ctx context.Context, client string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, client+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var health struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
		return fmt.Errorf("decode /health: %w", err)
	}
	if health.Health != "true" {
		return fmt.Errorf("etcd not healthy: %q", health.Reason)
	}
	return nil
}
