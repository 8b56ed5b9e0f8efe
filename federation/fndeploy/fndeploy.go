// Package fndeploy deploys an Fn application (its app, functions and
// triggers) to an Fn server through the Fn API, as `fn deploy` does: with
// fn_go, so it works against the real Fn server and fnfleet's process host
// alike.
//
// Apply is idempotent: what exists is updated in place, what is missing is
// created, and nothing is deleted (as `fn deploy` never deletes triggers).
// Remove deletes an app with what it holds, and is idempotent too.
package fndeploy

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/fnproject/fn_go/clientv2"
	"github.com/fnproject/fn_go/clientv2/apps"
	"github.com/fnproject/fn_go/clientv2/fns"
	"github.com/fnproject/fn_go/clientv2/triggers"
	"github.com/fnproject/fn_go/modelsv2"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// Deployed is what Apply left on the server.
type Deployed struct {
	AppID string
	// InvokeURLs maps each function name to its invoke endpoint.
	InvokeURLs map[string]string
}

// Apply deploys app to the Fn server at baseURL (e.g. http://127.0.1.1:8080).
func Apply(ctx context.Context, baseURL string, app *v1alpha1.FnApp) (Deployed, error) {
	c, err := client(baseURL)
	if err != nil {
		return Deployed{}, fmt.Errorf("deploy %s: %w", app.Name, err)
	}

	appID, err := applyApp(ctx, c, app)
	if err != nil {
		return Deployed{}, fmt.Errorf("deploy app %s to %s: %w", app.Name, baseURL, err)
	}
	out := Deployed{AppID: appID, InvokeURLs: map[string]string{}}
	for i := range app.Functions {
		f := &app.Functions[i]
		fn, err := applyFn(ctx, c, appID, f)
		if err != nil {
			return Deployed{}, fmt.Errorf("deploy function %s/%s to %s: %w", app.Name, f.Name, baseURL, err)
		}
		if s, ok := fn.Annotations[fncontract.InvokeEndpointAnnotation].(string); ok {
			out.InvokeURLs[f.Name] = s
		}
		for _, t := range f.Triggers {
			if err := applyTrigger(ctx, c, appID, fn.ID, t); err != nil {
				return Deployed{}, fmt.Errorf("deploy trigger %s of %s/%s to %s: %w", t.Name, app.Name, f.Name, baseURL, err)
			}
		}
	}
	return out, nil
}

// Remove deletes the Fn app called appName from the Fn server at baseURL,
// with its functions and triggers: DELETE /v2/apps/{id} removes them with
// the app in one transaction, on the Fn server as on fnfleet's (both
// stores delete the app's fns and triggers with it). An app that is not
// there, or that another caller deleted meanwhile, is success.
func Remove(ctx context.Context, baseURL, appName string) error {
	c, err := client(baseURL)
	if err != nil {
		return fmt.Errorf("remove %s: %w", appName, err)
	}
	id, err := appID(ctx, c, appName)
	if err != nil {
		return fmt.Errorf("remove app %s from %s: %w", appName, baseURL, err)
	}
	if id == "" {
		return nil
	}
	_, err = c.Apps.DeleteApp(&apps.DeleteAppParams{Context: ctx, AppID: id})
	if _, gone := errors.AsType[*apps.DeleteAppNotFound](err); err != nil && !gone {
		return fmt.Errorf("remove app %s from %s: %w", appName, baseURL, err)
	}
	return nil
}

// client is an Fn API client for the server at baseURL.
func client(baseURL string) (*clientv2.Fn, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad Fn API URL %q: want scheme://host:port", baseURL)
	}
	return clientv2.New(httptransport.New(u.Host, "/v2", []string{u.Scheme}), strfmt.Default), nil
}

// appID is the id of the app called name, or "" when there is none.
func appID(ctx context.Context, c *clientv2.Fn, name string) (string, error) {
	list, err := c.Apps.ListApps(&apps.ListAppsParams{Context: ctx, Name: &name})
	if err != nil {
		return "", err
	}
	for _, a := range list.Payload.Items {
		if a.Name == name {
			return a.ID, nil
		}
	}
	return "", nil
}

func applyApp(ctx context.Context, c *clientv2.Fn, app *v1alpha1.FnApp) (string, error) {
	body := &modelsv2.App{Name: app.Name, Config: app.Config}
	id, err := appID(ctx, c, app.Name)
	if err != nil {
		return "", err
	}
	if id == "" {
		created, err := c.Apps.CreateApp(&apps.CreateAppParams{Context: ctx, Body: body})
		if err == nil {
			return created.Payload.ID, nil
		}
		// Another caller created it since the list (two deploys at
		// once): update theirs, as if it had been there.
		if _, raced := errors.AsType[*apps.CreateAppConflict](err); !raced {
			return "", err
		}
		if id, err = appID(ctx, c, app.Name); err != nil {
			return "", err
		}
	}
	_, err = c.Apps.UpdateApp(&apps.UpdateAppParams{Context: ctx, AppID: id, Body: body})
	return id, err
}

func applyFn(ctx context.Context, c *clientv2.Fn, appID string, f *v1alpha1.Function) (*modelsv2.Fn, error) {
	body := &modelsv2.Fn{AppID: appID, Name: f.Name, Image: f.Image, Config: f.Config, Memory: uint64(f.MemoryMB)}
	if f.TimeoutSeconds > 0 {
		body.Timeout = &f.TimeoutSeconds
	}
	if f.IdleTimeoutSeconds > 0 {
		body.IdleTimeout = &f.IdleTimeoutSeconds
	}
	list, err := c.Fns.ListFns(&fns.ListFnsParams{Context: ctx, AppID: &appID, Name: &f.Name})
	if err != nil {
		return nil, err
	}
	if len(list.Payload.Items) > 0 {
		updated, err := c.Fns.UpdateFn(&fns.UpdateFnParams{Context: ctx, FnID: list.Payload.Items[0].ID, Body: body})
		if err != nil {
			return nil, err
		}
		return updated.Payload, nil
	}
	created, err := c.Fns.CreateFn(&fns.CreateFnParams{Context: ctx, Body: body})
	if err != nil {
		return nil, err
	}
	return created.Payload, nil
}

func applyTrigger(ctx context.Context, c *clientv2.Fn, appID, fnID string, t v1alpha1.Trigger) error {
	typ := t.Type
	if typ == "" {
		typ = "http"
	}
	body := &modelsv2.Trigger{AppID: appID, FnID: fnID, Name: t.Name, Type: typ, Source: t.Source}
	list, err := c.Triggers.ListTriggers(&triggers.ListTriggersParams{Context: ctx, AppID: &appID, FnID: &fnID, Name: &t.Name})
	if err != nil {
		return err
	}
	if len(list.Payload.Items) > 0 {
		_, err := c.Triggers.UpdateTrigger(&triggers.UpdateTriggerParams{Context: ctx, TriggerID: list.Payload.Items[0].ID, Body: body})
		return err
	}
	_, err = c.Triggers.CreateTrigger(&triggers.CreateTriggerParams{Context: ctx, Body: body})
	return err
}
