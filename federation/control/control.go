// Package control holds the fleet's imperative shells. Each shell does one
// bounded step for one object, in the shape of a controller-runtime
// reconciler: read the object and what it depends on from the hub, call a
// pure core (placement, and later lifecycle, parking, dns), act, and write
// status with the resourceVersion it read. A Conflict means another writer
// got there first; the shell reads again and redoes the step. So a repeated,
// lost or concurrent call does no harm, and the Fn functions that answer
// events and ticks are thin wrappers over these shells.
//
// The shells share one package because they share this frame (the conflict
// loop, how a condition is set); each has its own file and declares the
// narrow view of the hub it needs, which *hub.Client implements.
package control

import (
	"context"
	"fmt"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// A step that loses a race is redone at most conflictAttempts times in
// all, conflictPause apart (client-go's retry.DefaultRetry). Ten concurrent
// calls for one FleetApp settle in three rounds (one writes the decision,
// one records it as kept, the rest find nothing to change), so five leave
// room, while a caller that keeps losing still gets an answer within about
// 50 ms.
const (
	conflictAttempts = 5
	conflictPause    = 10 * time.Millisecond
)

// onConflict runs step until it ends without a Conflict, at most
// conflictAttempts times; it returns step's last error.
func onConflict(step func() error) error {
	return retry.RetryOnConflict(wait.Backoff{Steps: conflictAttempts, Duration: conflictPause, Factor: 1, Jitter: 0.1}, step)
}

// appStep is one pass of a FleetApp shell: err is an I/O error with the hub
// (a Conflict among them), outcome a failure the pass recorded.
type appStep func(ctx context.Context, key types.NamespacedName) (app *v1alpha1.FleetApp, outcome, err error)

// reconcileApp runs a FleetApp shell's step until it ends without a
// Conflict, and returns the app it left, with the outcome as the error (so
// the caller retries) and "<verb> FleetApp <key>" in front.
func reconcileApp(ctx context.Context, verb string, key types.NamespacedName, step appStep) (*v1alpha1.FleetApp, error) {
	var (
		app     *v1alpha1.FleetApp
		outcome error
	)
	err := onConflict(func() error {
		var err error
		app, outcome, err = step(ctx, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s FleetApp %s: %w", verb, key, err)
	}
	if outcome != nil {
		return app, fmt.Errorf("%s FleetApp %s: %w", verb, key, outcome)
	}
	return app, nil
}

// setCondition sets the condition typ in conds. Its transition time moves
// only when its status changes, so a step that finds nothing new writes an
// equal status (and the shell then skips the write).
func setCondition(conds *[]metav1.Condition, typ string, ok bool, reason, msg string, generation int64, now time.Time) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	})
}
