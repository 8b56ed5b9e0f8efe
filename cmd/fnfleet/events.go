package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/spf13/cobra"

	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/localmode"
)

func newEventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Send fnfleet's CloudEvents by hand",
		Long: `Work with fnfleet's CloudEvents, the dev.fnfleet.<noun>.<verb> types of the
events catalog (docs/events.md).

The events function of a local fleet (fnfleet up) receives them: by default
events are sent to the URL, signed with the secret, that its fleet.json names.`,
		Example: `  # Ask placement to look at the FleetApp default/web again, on the fleet of fnfleet up
  fnfleet events send --type dev.fnfleet.app.changed --subject default/web`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			if err := cmd.Help(); err != nil {
				return fmt.Errorf("print help: %w", err)
			}
			return errHelpShown
		},
	}
	cmd.AddCommand(newEventsSendCommand())
	return cmd
}

// eventsSendOptions are the flags of fnfleet events send.
type eventsSendOptions struct {
	senderFlags
	workdir                string
	typ, subject, data, id string
	structured             bool
	retries                int
}

func newEventsSendCommand() *cobra.Command {
	var o eventsSendOptions
	cmd := &cobra.Command{
		Use:   "send --type TYPE --subject SUBJECT --to URL [flags]",
		Short: "Send one event of the catalog and print the handler's answer",
		Long: `Build one event as the events catalog says (docs/events.md): its source is the
catalog's for --type, its data (--data, JSON) must decode into the type's
payload. Sign it with the HMAC secret in --secret-file, or authenticate it with
the bearer token in --token-file, and send it to --to with the events sender's
rules: network errors, 404, 408, 409, 429 and 5xx are retried with backoff
(--retries times at most), any other status is final.

Prints the status, the attempts, the reply event if any, and "ask again at"
when the handler defers. Exit status 1 when the event is not delivered (the
reason follows), 2 when called wrongly.

Secrets are read from files only, which must have mode 0600; a trailing
newline is not part of the secret. Without --to, the event goes to the events
URL of the local fleet in --workdir (its fleet.json's eventsURL), signed with
its secret file unless --secret-file or --token-file says otherwise.`,
		Example: `  # A resync tick to the fleet of fnfleet up (URL and secret from .fnfleet/up/fleet.json)
  fnfleet events send --type dev.fnfleet.resync.due --subject resync

  # A ClusterPool changed: signed with the secret the receiver knows
  (umask 077 && mkdir -p ~/.fnfleet && printf %s "$SECRET" > ~/.fnfleet/event-secret)
  fnfleet events send --to http://127.0.0.1:8080/t/fnfleet/events --secret-file ~/.fnfleet/event-secret --type dev.fnfleet.pool.changed --subject default-pool --data '{"generation":2}'

  # A reconcile tick, in structured mode, with a bearer token
  fnfleet events send --to http://127.0.0.1:8080/t/fnfleet/events --token-file ~/.fnfleet/event-token --type dev.fnfleet.reconcile.due --subject reconcile --structured`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEventsSend(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.add(f)
	f.StringVar(&o.workdir, "workdir", defaultWorkdir, "work directory of a local fleet (fnfleet up --workdir): without --to, its fleet.json names the events URL and the secret file")
	_ = cmd.MarkFlagDirname("workdir")
	f.StringVar(&o.typ, "type", "", "event type, one of the catalog's (docs/events.md); required")
	f.StringVar(&o.subject, "subject", "", "subject: the key of the object the event is about (namespace/name of a FleetApp, name of a MemberCluster or ClusterPool, a schedule's name); required")
	f.StringVar(&o.data, "data", "{}", "payload as JSON; it must decode into the type's payload struct (unknown fields are refused)")
	f.StringVar(&o.id, "id", "", "event id (default: a new random one)")
	f.BoolVar(&o.structured, "structured", false, "send in structured mode (application/cloudevents+json) instead of binary mode")
	f.IntVar(&o.retries, "retries", events.DefaultRetries, "most retries of a failed attempt that may succeed later")
	o.markFiles(cmd)
	_ = cmd.RegisterFlagCompletionFunc("type", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return catalogTypes(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// catalogTypes lists the catalog's event types, in its order.
func catalogTypes() []string {
	var types []string
	for _, s := range events.Catalog() {
		types = append(types, s.Type)
	}
	return types
}

func runEventsSend(ctx context.Context, o eventsSendOptions, stdout, stderr io.Writer) error {
	e, err := o.event(time.Now())
	if err != nil {
		return err
	}
	if err := o.fromFleetFile(); err != nil {
		return err
	}
	if o.retries < 0 {
		return usageErrorf("--retries %d: use 0 or more", o.retries)
	}
	opts := []events.Option{
		events.WithRetries(o.retries),
		// The error printed says why an event was not delivered; no log
		// line repeats it.
		events.WithDeadLetters(events.AllDeadLetters()),
	}
	if o.structured {
		opts = append(opts, events.Structured())
	}
	sender, err := o.sender(commandLogger(stderr), opts...)
	if err != nil {
		return err
	}
	out, err := sender.Send(ctx, e)
	if err != nil {
		return fmt.Errorf("%w; check --to, the credentials and --data, or read the receiver's log", err)
	}
	fmt.Fprintf(stdout, "delivered event %s (%s, subject %s) to %s: status %d after %d attempt(s)\n",
		e.ID(), e.Type(), e.Subject(), sender.Sink(), out.Status, out.Attempts)
	if out.Reply != nil {
		reply, err := json.MarshalIndent(out.Reply, "", "  ")
		if err != nil {
			return fmt.Errorf("print the reply event: %w", err)
		}
		fmt.Fprintf(stdout, "reply event:\n%s\n", reply)
	}
	if !out.AskAgainAt.IsZero() {
		fmt.Fprintf(stdout, "the handler defers: ask again at %s\n", out.AskAgainAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// fromFleetFile fills in, when --to is not given, the events URL and the
// secret file the local fleet in --workdir names.
func (o *eventsSendOptions) fromFleetFile() error {
	if o.to != "" {
		return nil
	}
	path := filepath.Join(o.workdir, localmode.FleetFileName)
	ff, err := localmode.ReadFleetFile(path)
	if err != nil {
		return usageErrorf("no --to, and no local fleet in --workdir %s (%v): pass --to URL with --secret-file, or the --workdir of a running fnfleet up", o.workdir, err)
	}
	if ff.EventsURL == "" {
		return usageErrorf("no --to, and %s names no events URL (is its fnfleet up still starting?): pass --to URL", path)
	}
	o.to = ff.EventsURL
	if o.secretFile == "" && o.tokenFile == "" {
		o.secretFile = ff.SecretFile
	}
	return nil
}

// event builds the event the flags describe; every mistake is a usage
// error.
func (o eventsSendOptions) event(now time.Time) (ev event.Event, err error) {
	if o.typ == "" {
		return ev, usageErrorf("--type is required: one of %s", strings.Join(catalogTypes(), ", "))
	}
	spec, ok := events.Lookup(o.typ)
	if !ok {
		return ev, usageErrorf("--type %s: not in the events catalog (docs/events.md); known types: %s", o.typ, strings.Join(catalogTypes(), ", "))
	}
	if o.subject == "" {
		return ev, usageErrorf("--subject is required: %s", spec.Subject)
	}
	payload, err := decodePayload(spec, o.data)
	if err != nil {
		return ev, err
	}
	id := o.id
	if id == "" {
		id = "manual-" + rand.Text()
	}
	e, err := events.New(o.typ, id, o.subject, now, payload)
	if err != nil {
		return ev, usageErrorf("%v", err)
	}
	return e, nil
}

// decodePayload decodes data into a new value of spec's payload struct,
// refusing unknown fields and values of the wrong type, naming the field.
func decodePayload(spec events.Spec, data string) (any, error) {
	t := reflect.TypeOf(spec.Payload)
	p := reflect.New(t)
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.DisallowUnknownFields()
	err := dec.Decode(p.Interface())
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return nil, usageErrorf("--data: field %q: got a JSON %s, %s wants %v; %s", typeErr.Field, typeErr.Value, t.Name(), typeErr.Type, payloadFields(t))
	case err != nil:
		return nil, usageErrorf("--data: %v; %s wants a JSON object %s", err, t.Name(), payloadFields(t))
	}
	return p.Elem().Interface(), nil
}

// payloadFields describes the JSON fields of the payload struct t:
// {"generation": int64, ...}.
func payloadFields(t reflect.Type) string {
	var fields []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields = append(fields, fmt.Sprintf("%q: %v", name, f.Type))
	}
	return "{" + strings.Join(fields, ", ") + "}"
}
