// Package handlers turns the fleet's shells (federation/control) into Fn
// functions: one fdk.Handler per management function, built from the
// function's Fn config, answering a CloudEvent (as the events function
// forwards it) or a plain JSON request (`fn invoke fnfleet placement`).
// Each function's main.go (functions/<name>) is one call into this package.
package handlers

import (
	"fmt"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// AppName is the Fn app the management functions are deployed as, on the
// hub's own Fn.
const AppName = "fnfleet"

// The management functions, by their Fn function name. Each is built as
// bin/<name> by `make build` and deployed with the image ImagePrefix+name.
const (
	// Events is the one CloudEvents entry point (trigger EventsTrigger):
	// it checks an event's signature and hands it to its handlers through
	// Fn, as events.Router says.
	Events    = "events"
	Placement = "placement"
	Deploy    = "deploy"
	Lifecycle = "lifecycle"
	Parking   = "parking"
	Reconcile = "reconcile"
	// DNS keeps the apps' names answering with their healthy members
	// (control.DNS).
	DNS = "dns"
)

// Functions lists the management functions, the events function first.
func Functions() []string {
	return []string{Events, Placement, Deploy, Lifecycle, Parking, Reconcile, DNS}
}

// ImagePrefix is the image name of every management function before its
// name; the tag is the fnfleet version.
const ImagePrefix = "fnfleet/"

// EventsTrigger is the HTTP trigger source of the events function: events
// are sent to <Fn API URL>/t/fnfleet/events.
const EventsTrigger = "/events"

// Fn config keys the functions read (app config of app fnfleet, set by
// whoever deploys it: `fnfleet up` in local mode). The Fn server passes a
// function no other environment, so everything a function needs is here.
// The event secret is cloudevent.ConfigHMACSecret (FNFLEET_EVENT_HMAC_SECRET).
const (
	// ConfigHubKubeconfig is the path of a kubeconfig for the hub: its
	// address and the functions' credential.
	ConfigHubKubeconfig = "FNFLEET_HUB_KUBECONFIG"
	// ConfigFnAPIURL is the hub's Fn API base URL: the events and parking
	// functions call the handler functions through it.
	ConfigFnAPIURL = "FNFLEET_FN_API_URL"
	// ConfigEventsURL is the events trigger URL, where functions send
	// their follow-up events (placement's capacity requests).
	ConfigEventsURL = "FNFLEET_EVENTS_URL"
	// ConfigLocalWorkdir is the local provider's work directory; unset,
	// lifecycle has no local provider.
	ConfigLocalWorkdir = "FNFLEET_LOCAL_WORKDIR"
	// ConfigBin is the directory of the cluster binaries (kwokctl,
	// kube-apiserver, etcd...) the local provider runs.
	ConfigBin = "FNFLEET_BIN"
	// ConfigLocalFnfleet is the fnfleet executable the local members' data
	// planes run as `fnfleet fn-server`.
	ConfigLocalFnfleet = "FNFLEET_LOCAL_FNFLEET"
	// ConfigLocalFnImages is the images file of the local members' data
	// planes (image name -> executable).
	ConfigLocalFnImages = "FNFLEET_LOCAL_FN_IMAGES"
	// ConfigLocalPoll is how often lifecycle looks again at a local
	// member in motion, as a Go duration (default 2s).
	ConfigLocalPoll = "FNFLEET_LOCAL_POLL"
	// ConfigDNSProbeProxy, when set, is an HTTP proxy URL the dns
	// function's own health probes go through (the members' probe
	// functions, its second vantage points, never do): how a hub reaches
	// members from behind a proxy, and how a test cuts only the hub's
	// probe path.
	ConfigDNSProbeProxy = "FNFLEET_DNS_PROBE_PROXY"
	// ConfigLogLevel is the functions' slog level: debug, info (default),
	// warn or error.
	ConfigLogLevel = "FNFLEET_LOG_LEVEL"
)

// App is the Fn app fnfleet: every management function at version, with
// config as the app's config. Each function's limits are here, and its
// functions/<name>/func.yaml says the same (a test holds them equal).
func App(version string, config map[string]string) *v1alpha1.FnApp {
	app := &v1alpha1.FnApp{Name: AppName, Config: config}
	for _, name := range Functions() {
		l := limitsOf(name)
		f := v1alpha1.Function{
			Name: name, Image: fmt.Sprintf("%s%s:%s", ImagePrefix, name, version),
			MemoryMB: l.memoryMB, TimeoutSeconds: l.timeout, IdleTimeoutSeconds: l.idleTimeout,
		}
		if name == Events {
			f.Triggers = []v1alpha1.Trigger{{Name: Events, Type: "http", Source: EventsTrigger}}
		}
		app.Functions = append(app.Functions, f)
	}
	return app
}

// limits are one function's Fn limits.
type limits struct {
	memoryMB, timeout, idleTimeout int32
}

// limitsOf gives each function its Fn limits. Timeouts: lifecycle's call
// may install Fn with Helm, so its timeout (300 s, Fn's most) stays above
// the installer's bound (InstallTimeout); the others do one bounded pass
// over the hub. Idle timeouts keep the processes hot between events:
// placement keeps its Planner's snapshot cache across calls, so it stays an
// hour (Fn's most). Memory: every function links client-go and the
// CloudEvents SDK; their peak RSS (VmHWM, TestFunctions) is 75-79 MiB, so
// 128 MB leaves 60% headroom for a larger fleet's lists. lifecycle runs a
// Helm install of charts/fn inside a call: 97 MiB after creating a local
// member and installing Fn on it; 256 MB leaves room for a chart's larger
// manifests and a slower cluster's longer wait.
func limitsOf(name string) limits {
	switch name {
	case Events:
		// The events function waits for its handlers, lifecycle among
		// them: its timeout is lifecycle's.
		return limits{memoryMB: 128, timeout: 300, idleTimeout: 600}
	case Lifecycle:
		return limits{memoryMB: 256, timeout: 300, idleTimeout: 600}
	case Placement:
		return limits{memoryMB: 128, timeout: 60, idleTimeout: 3600}
	case Reconcile:
		return limits{memoryMB: 128, timeout: 120, idleTimeout: 600}
	case DNS:
		// A pass is bounded by its probes' timeouts (well under 2 s);
		// staying hot keeps the registries' caches of owned names, so an
		// unchanged pass reads no zone.
		return limits{memoryMB: 128, timeout: 30, idleTimeout: 3600}
	default:
		return limits{memoryMB: 128, timeout: 60, idleTimeout: 600}
	}
}
