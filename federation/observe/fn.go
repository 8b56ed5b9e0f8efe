// Package observe looks at a member cluster from the outside: whether its
// apiserver and its Fn answer, where its Fn endpoint is published, and how
// much of its capacity apps use. It reads and never writes; the shells in
// federation/control record what it saw.
package observe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The label charts/fn sets on its Services and pods, and FnSelector, the
// selector that picks them.
const (
	fnLabel, fnValue = "app.kubernetes.io/name", "fn"
	FnSelector       = fnLabel + "=" + fnValue
)

// probeTimeout bounds one probe: an Fn server answers /version in about a
// millisecond; 3 s tells a slow one from a dead one without holding a
// step of the shell.
const probeTimeout = 3 * time.Second

// FnEndpoint returns the URL of the Fn API that the release's LoadBalancer
// Service in namespace publishes ("http://<address>:<port>"), or "" while
// the Service has no load-balancer address yet.
func FnEndpoint(ctx context.Context, client kubernetes.Interface, namespace string) (string, error) {
	svcs, err := fnLoadBalancers(ctx, client, namespace)
	if err != nil {
		return "", err
	}
	for i := range svcs {
		if url := endpointOf(&svcs[i]); url != "" {
			return url, nil
		}
	}
	return "", nil
}

// fnLoadBalancers lists the Fn Services of type LoadBalancer in namespace
// (metav1.NamespaceAll: every namespace).
func fnLoadBalancers(ctx context.Context, client kubernetes.Interface, namespace string) ([]corev1.Service, error) {
	svcs, err := client.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{LabelSelector: FnSelector})
	if err != nil {
		return nil, fmt.Errorf("list Fn services: %w", err)
	}
	lbs := svcs.Items[:0]
	for _, svc := range svcs.Items {
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			lbs = append(lbs, svc)
		}
	}
	return lbs, nil
}

// endpointOf is the Fn URL a LoadBalancer Service publishes, or "".
func endpointOf(svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return ""
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		host := in.IP
		if host == "" {
			host = in.Hostname
		}
		if host != "" {
			return "http://" + net.JoinHostPort(host, strconv.Itoa(int(svc.Spec.Ports[0].Port)))
		}
	}
	return ""
}

// FnAnswers checks that the Fn server at endpoint answers GET /version
// with 200 within probeTimeout.
func FnAnswers(ctx context.Context, hc *http.Client, endpoint string) error {
	if endpoint == "" {
		return errors.New("no Fn endpoint published")
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/version", nil)
	if err != nil {
		return fmt.Errorf("probe Fn at %s: %w", endpoint, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("probe Fn at %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe Fn at %s: GET /version answered %s", endpoint, resp.Status)
	}
	return nil
}
