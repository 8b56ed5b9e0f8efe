// Package hub reads and writes the fnfleet API objects (MemberCluster,
// FleetApp, ClusterPool) and the member clusters' kubeconfig Secrets in the
// hub cluster, and installs the API itself.
//
// Writes carry the resourceVersion they were read at, so two writers never
// overwrite each other silently: the loser gets a Conflict and re-reads.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/charts"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// InstallCRDs creates or updates the fnfleet CRDs embedded in this binary
// and waits until the apiserver serves them.
func InstallCRDs(ctx context.Context, cfg *rest.Config) error {
	docs, err := charts.CRDs()
	if err != nil {
		return err
	}
	return InstallCRDDocs(ctx, cfg, docs...)
}

// InstallCRDDocs creates or updates the CRDs given as YAML documents and
// waits until the apiserver serves them: fnfleet's own, or another
// project's whose objects fnfleet writes into the hub (tests install
// external-dns' DNSEndpoint this way).
func InstallCRDDocs(ctx context.Context, cfg *rest.Config, docs ...[]byte) error {
	client, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	crds := client.ApiextensionsV1().CustomResourceDefinitions()
	for _, doc := range docs {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(doc, &crd); err != nil {
			return fmt.Errorf("install CRDs: decode: %w", err)
		}
		existing, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = crds.Create(ctx, &crd, metav1.CreateOptions{})
		case err == nil:
			crd.ResourceVersion = existing.ResourceVersion
			_, err = crds.Update(ctx, &crd, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("install CRD %s: %w", crd.Name, err)
		}
		if err := waitEstablished(ctx, client, crd.Name); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, client apiextensions.Interface, name string) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		last = fmt.Errorf("not Established yet")
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s: %w", name, errors.Join(err, last))
	}
	return nil
}

// Client reads and writes fnfleet objects in the hub. It is safe for
// concurrent use and holds the connection pool, so a process builds one per
// hub and shares it.
type Client struct {
	rest rest.Interface
	core corev1client.CoreV1Interface
}

// New returns a client for the hub that cfg points at.
func New(cfg *rest.Config) (*Client, error) {
	rc, err := RESTClient(cfg, v1alpha1.GroupVersion(), v1alpha1.AddToScheme)
	if err != nil {
		return nil, fmt.Errorf("hub client: %w", err)
	}
	core, err := corev1client.NewForConfig(withRate(cfg))
	if err != nil {
		return nil, fmt.Errorf("hub client: %w", err)
	}
	return &Client{rest: rc, core: core}, nil
}

// RESTClient returns a typed REST client for the API group gv in the hub,
// whose types addToScheme registers: fnfleet's own, or another project's
// that a shell keeps in the hub (Cluster API's Clusters, for the capi
// provider).
func RESTClient(cfg *rest.Config, gv schema.GroupVersion, addToScheme func(*runtime.Scheme) error) (rest.Interface, error) {
	scheme := runtime.NewScheme()
	if err := addToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register %s: %w", gv, err)
	}
	c := withRate(cfg)
	c.GroupVersion = &gv
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = "fnfleet"
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("REST client for %s: %w", gv, err)
	}
	return rc, nil
}

// withRate copies cfg with client-go's default client-side rate limit (5
// requests a second, bursts of 10) raised to 200 and 400 unless cfg sets
// one. A placement is 4 hub requests and a lifecycle step 5-7, and a
// function re-decides every app when a member changes: at 50 a second, a
// hot placement function saturated at 12 decisions a second (80 ms each,
// measured by BenchmarkEventThroughFn, against 6 ms unthrottled), so a
// fleet of 100 apps took 8 s to follow one member's change. The hub's
// apiserver guards itself (API Priority and Fairness); the client-side
// limit only keeps a runaway loop from flooding it.
func withRate(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	if c.QPS == 0 && c.RateLimiter == nil {
		c.QPS, c.Burst = 200, 400
	}
	return c
}

const (
	memberClusters = "memberclusters"
	clusterPools   = "clusterpools"
	fleetApps      = "fleetapps"
	dnsZones       = "dnszones"
)

// CreateMemberCluster creates mc (its status is ignored by the apiserver;
// set it with UpdateMemberClusterStatus).
func (c *Client) CreateMemberCluster(ctx context.Context, mc *v1alpha1.MemberCluster) (*v1alpha1.MemberCluster, error) {
	out := &v1alpha1.MemberCluster{}
	if err := c.rest.Post().Resource(memberClusters).Body(mc).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("create MemberCluster %s: %w", mc.Name, err)
	}
	return out, nil
}

// UpdateMemberClusterStatus writes mc's status, failing with a Conflict if
// the object changed since mc was read.
func (c *Client) UpdateMemberClusterStatus(ctx context.Context, mc *v1alpha1.MemberCluster) (*v1alpha1.MemberCluster, error) {
	out := &v1alpha1.MemberCluster{}
	if err := c.rest.Put().Resource(memberClusters).Name(mc.Name).SubResource("status").Body(mc).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("update MemberCluster %s status: %w", mc.Name, err)
	}
	return out, nil
}

// GetMemberCluster reads the member cluster called name.
func (c *Client) GetMemberCluster(ctx context.Context, name string) (*v1alpha1.MemberCluster, error) {
	out := &v1alpha1.MemberCluster{}
	if err := c.rest.Get().Resource(memberClusters).Name(name).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("get MemberCluster %s: %w", name, err)
	}
	return out, nil
}

// ListMemberClusters lists every member cluster.
func (c *Client) ListMemberClusters(ctx context.Context) (*v1alpha1.MemberClusterList, error) {
	out := &v1alpha1.MemberClusterList{}
	if err := c.rest.Get().Resource(memberClusters).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("list MemberClusters: %w", err)
	}
	return out, nil
}

// ListClusterPools lists every cluster pool.
func (c *Client) ListClusterPools(ctx context.Context) (*v1alpha1.ClusterPoolList, error) {
	out := &v1alpha1.ClusterPoolList{}
	if err := c.rest.Get().Resource(clusterPools).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("list ClusterPools: %w", err)
	}
	return out, nil
}

// CreateFleetApp creates app in its namespace.
func (c *Client) CreateFleetApp(ctx context.Context, app *v1alpha1.FleetApp) (*v1alpha1.FleetApp, error) {
	out := &v1alpha1.FleetApp{}
	if err := c.rest.Post().Namespace(app.Namespace).Resource(fleetApps).Body(app).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("create FleetApp %s/%s: %w", app.Namespace, app.Name, err)
	}
	return out, nil
}

// GetFleetApp reads the FleetApp namespace/name.
func (c *Client) GetFleetApp(ctx context.Context, namespace, name string) (*v1alpha1.FleetApp, error) {
	out := &v1alpha1.FleetApp{}
	if err := c.rest.Get().Namespace(namespace).Resource(fleetApps).Name(name).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("get FleetApp %s/%s: %w", namespace, name, err)
	}
	return out, nil
}

// UpdateFleetApp writes app's spec and metadata at the resourceVersion
// it carries (a Conflict if the object changed since it was read).
func (c *Client) UpdateFleetApp(ctx context.Context, app *v1alpha1.FleetApp) (*v1alpha1.FleetApp, error) {
	out := &v1alpha1.FleetApp{}
	if err := c.rest.Put().Namespace(app.Namespace).Resource(fleetApps).Name(app.Name).Body(app).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("update FleetApp %s/%s: %w", app.Namespace, app.Name, err)
	}
	return out, nil
}

// SetFleetAppFinalizers sets the FleetApp's finalizers, at the
// resourceVersion the caller read, as SetMemberClusterFinalizers does for a
// MemberCluster: a merge patch of metadata alone, a Conflict if the object
// changed since.
func (c *Client) SetFleetAppFinalizers(ctx context.Context, namespace, name, resourceVersion string, finalizers []string) (*v1alpha1.FleetApp, error) {
	body, err := finalizersPatch(resourceVersion, finalizers)
	if err != nil {
		return nil, fmt.Errorf("set the finalizers of FleetApp %s/%s: %w", namespace, name, err)
	}
	out := &v1alpha1.FleetApp{}
	if err := c.rest.Patch(types.MergePatchType).Namespace(namespace).Resource(fleetApps).Name(name).Body(body).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("set the finalizers of FleetApp %s/%s: %w", namespace, name, err)
	}
	return out, nil
}

// ApplyFleetAppStatus sets, by server-side apply as field manager manager,
// exactly the status fields st holds, at the resourceVersion the caller
// read, as ApplyMemberClusterStatus does for a MemberCluster: placement and
// deploy each write their own fields of one status (deployments and
// conditions merge by cluster and by type) without rewriting the other's.
func (c *Client) ApplyFleetAppStatus(ctx context.Context, namespace, name, resourceVersion, manager string, st *v1alpha1.FleetAppStatus) (*v1alpha1.FleetApp, error) {
	body, err := statusApply("FleetApp", namespace, name, resourceVersion, st)
	if err != nil {
		return nil, fmt.Errorf("apply FleetApp %s/%s status: %w", namespace, name, err)
	}
	out := &v1alpha1.FleetApp{}
	if err := c.applyStatus(ctx, c.rest.Patch(types.ApplyPatchType).Namespace(namespace).Resource(fleetApps).Name(name), manager, body).Into(out); err != nil {
		return nil, fmt.Errorf("apply FleetApp %s/%s status as %s: %w", namespace, name, manager, err)
	}
	return out, nil
}

// DeleteMemberCluster asks the hub to delete the member cluster called
// name; lifecycle then deletes the cluster itself and lets the object go.
func (c *Client) DeleteMemberCluster(ctx context.Context, name string) error {
	if err := c.rest.Delete().Resource(memberClusters).Name(name).Do(ctx).Error(); err != nil {
		return fmt.Errorf("delete MemberCluster %s: %w", name, err)
	}
	return nil
}

// UpdateMemberCluster writes mc's metadata and spec (its finalizers, for
// lifecycle), failing with a Conflict if the object changed since mc was
// read.
func (c *Client) UpdateMemberCluster(ctx context.Context, mc *v1alpha1.MemberCluster) (*v1alpha1.MemberCluster, error) {
	out := &v1alpha1.MemberCluster{}
	if err := c.rest.Put().Resource(memberClusters).Name(mc.Name).Body(mc).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("update MemberCluster %s: %w", mc.Name, err)
	}
	return out, nil
}

// SetMemberClusterFinalizers sets the MemberCluster's finalizers, at the
// resourceVersion the caller read: a Conflict if the object changed since.
// It is a merge patch of metadata alone, not a PUT of the whole object, so
// it never drops a field this client's types do not know (one a newer
// fnfleet added), and never rewrites the spec or status it read.
func (c *Client) SetMemberClusterFinalizers(ctx context.Context, name, resourceVersion string, finalizers []string) (*v1alpha1.MemberCluster, error) {
	body, err := finalizersPatch(resourceVersion, finalizers)
	if err != nil {
		return nil, fmt.Errorf("set the finalizers of MemberCluster %s: %w", name, err)
	}
	out := &v1alpha1.MemberCluster{}
	if err := c.rest.Patch(types.MergePatchType).Resource(memberClusters).Name(name).Body(body).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("set the finalizers of MemberCluster %s: %w", name, err)
	}
	return out, nil
}

// finalizersPatch is the merge patch that sets finalizers at
// resourceVersion.
func finalizersPatch(resourceVersion string, finalizers []string) ([]byte, error) {
	if resourceVersion == "" {
		return nil, errors.New("a resourceVersion is required, so that the write is fenced by the read")
	}
	if finalizers == nil {
		finalizers = []string{} // null would leave them as they are
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": resourceVersion, "finalizers": finalizers},
	})
}

// ApplyMemberClusterStatus sets, by server-side apply as field manager
// manager, exactly the status fields st holds (its non-empty ones), at the
// resourceVersion the caller read: a Conflict if the object changed since.
// Fields the manager set before and st leaves empty are removed; fields of
// other managers are left alone, conditions included (they merge by type).
// So lifecycle and reconcile each write their own fields of one status
// without reading and rewriting the other's.
func (c *Client) ApplyMemberClusterStatus(ctx context.Context, name, resourceVersion, manager string, st *v1alpha1.MemberClusterStatus) (*v1alpha1.MemberCluster, error) {
	body, err := statusApply("MemberCluster", "", name, resourceVersion, st)
	if err != nil {
		return nil, fmt.Errorf("apply MemberCluster %s status: %w", name, err)
	}
	out := &v1alpha1.MemberCluster{}
	if err := c.applyStatus(ctx, c.rest.Patch(types.ApplyPatchType).Resource(memberClusters).Name(name), manager, body).Into(out); err != nil {
		return nil, fmt.Errorf("apply MemberCluster %s status as %s: %w", name, manager, err)
	}
	return out, nil
}

// statusApply is the apply configuration that sets status st on the
// object kind namespace/name at resourceVersion.
func statusApply(kind, namespace, name, resourceVersion string, status any) ([]byte, error) {
	if resourceVersion == "" {
		return nil, errors.New("a resourceVersion is required, so that the write is fenced by the read")
	}
	meta := map[string]any{"name": name, "resourceVersion": resourceVersion}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	return json.Marshal(map[string]any{
		"apiVersion": v1alpha1.GroupVersion().String(),
		"kind":       kind,
		"metadata":   meta,
		"status":     status,
	})
}

// applyStatus sends the apply patch body to req's status subresource as
// manager.
func (c *Client) applyStatus(ctx context.Context, req *rest.Request, manager string, body []byte) rest.Result {
	return req.SubResource("status").
		Param("fieldManager", manager).
		// Each field has one writer by design, so a field another manager
		// touched (a person with kubectl edit) is taken back.
		Param("force", "true").
		Body(body).Do(ctx)
}

// GetClusterPool reads the cluster pool called name.
func (c *Client) GetClusterPool(ctx context.Context, name string) (*v1alpha1.ClusterPool, error) {
	out := &v1alpha1.ClusterPool{}
	if err := c.rest.Get().Resource(clusterPools).Name(name).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("get ClusterPool %s: %w", name, err)
	}
	return out, nil
}

// UpdateClusterPoolStatus writes pool's status, failing with a Conflict if
// the object changed since pool was read.
func (c *Client) UpdateClusterPoolStatus(ctx context.Context, pool *v1alpha1.ClusterPool) (*v1alpha1.ClusterPool, error) {
	out := &v1alpha1.ClusterPool{}
	if err := c.rest.Put().Resource(clusterPools).Name(pool.Name).SubResource("status").Body(pool).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("update ClusterPool %s status: %w", pool.Name, err)
	}
	return out, nil
}

// CreateClusterPool creates pool.
func (c *Client) CreateClusterPool(ctx context.Context, pool *v1alpha1.ClusterPool) (*v1alpha1.ClusterPool, error) {
	out := &v1alpha1.ClusterPool{}
	if err := c.rest.Post().Resource(clusterPools).Body(pool).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("create ClusterPool %s: %w", pool.Name, err)
	}
	return out, nil
}

// ListFleetApps lists the FleetApps of every namespace.
func (c *Client) ListFleetApps(ctx context.Context) (*v1alpha1.FleetAppList, error) {
	out := &v1alpha1.FleetAppList{}
	if err := c.rest.Get().Resource(fleetApps).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("list FleetApps: %w", err)
	}
	return out, nil
}

// ListDNSZones lists every DNS zone.
func (c *Client) ListDNSZones(ctx context.Context) (*v1alpha1.DNSZoneList, error) {
	out := &v1alpha1.DNSZoneList{}
	if err := c.rest.Get().Resource(dnsZones).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("list DNSZones: %w", err)
	}
	return out, nil
}

// CreateDNSZone creates zone.
func (c *Client) CreateDNSZone(ctx context.Context, zone *v1alpha1.DNSZone) (*v1alpha1.DNSZone, error) {
	out := &v1alpha1.DNSZone{}
	if err := c.rest.Post().Resource(dnsZones).Body(zone).Do(ctx).Into(out); err != nil {
		return nil, fmt.Errorf("create DNSZone %s: %w", zone.Name, err)
	}
	return out, nil
}

// ApplyDNSZoneStatus sets, by server-side apply as field manager manager,
// the status fields st holds, at the resourceVersion the caller read.
func (c *Client) ApplyDNSZoneStatus(ctx context.Context, name, resourceVersion, manager string, st *v1alpha1.DNSZoneStatus) (*v1alpha1.DNSZone, error) {
	body, err := statusApply("DNSZone", "", name, resourceVersion, st)
	if err != nil {
		return nil, fmt.Errorf("apply DNSZone %s status: %w", name, err)
	}
	out := &v1alpha1.DNSZone{}
	if err := c.applyStatus(ctx, c.rest.Patch(types.ApplyPatchType).Resource(dnsZones).Name(name), manager, body).Into(out); err != nil {
		return nil, fmt.Errorf("apply DNSZone %s status as %s: %w", name, manager, err)
	}
	return out, nil
}

// DeleteFleetApp deletes the FleetApp namespace/name.
func (c *Client) DeleteFleetApp(ctx context.Context, namespace, name string) error {
	if err := c.rest.Delete().Namespace(namespace).Resource(fleetApps).Name(name).Do(ctx).Error(); err != nil {
		return fmt.Errorf("delete FleetApp %s/%s: %w", namespace, name, err)
	}
	return nil
}

// REST is the client's REST interface for the fnfleet API group, for
// watches (informers in local mode).
func (c *Client) REST() rest.Interface { return c.rest }

// Secrets returns the hub's Secrets in namespace: where the kubeconfigs
// of member clusters live, and nowhere else.
func (c *Client) Secrets(namespace string) corev1client.SecretInterface {
	return c.core.Secrets(namespace)
}

// EnsureNamespace creates namespace in the hub when it is missing.
func (c *Client) EnsureNamespace(ctx context.Context, namespace string) error {
	_, err := c.core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s in the hub: %w", namespace, err)
	}
	return nil
}

// Warn records a Warning Event about obj, a cluster-scoped fnfleet object
// (a MemberCluster, a ClusterPool), in namespace default, where `kubectl
// describe` looks for the events of cluster-scoped objects. component names
// the writer ("fnfleet-lifecycle"). Callers record an Event when a
// condition turns, not on every step, so a problem makes one Event, not one
// per poll.
func (c *Client) Warn(ctx context.Context, obj metav1.Object, kind, component, reason, message string) error {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: obj.GetName() + ".", Namespace: metav1.NamespaceDefault},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: v1alpha1.GroupVersion().String(), Kind: kind,
			Name: obj.GetName(), UID: obj.GetUID(), ResourceVersion: obj.GetResourceVersion(),
		},
		Reason: reason, Message: message, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: component},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "fnfleet.dev/" + component, ReportingInstance: component,
	}
	if _, err := c.core.Events(metav1.NamespaceDefault).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("record Event %s on %s %s: %w", reason, kind, obj.GetName(), err)
	}
	return nil
}

// Events lists the Events recorded about the cluster-scoped object name
// of kind (as Warn records them).
func (c *Client) Events(ctx context.Context, kind, name string) ([]corev1.Event, error) {
	list, err := c.core.Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name,
	})
	if err != nil {
		return nil, fmt.Errorf("list the Events of %s %s: %w", kind, name, err)
	}
	return list.Items, nil
}
