// Package fninvoke calls Fn functions by name through an Fn server's API,
// the way `fn invoke <app> <fn>` does: it finds the function with fn_go
// (apps by name, then fns by name) and POSTs to the invoke endpoint the
// server annotates it with. The events function hands events to the
// handler functions this way, and parking calls lifecycle.
package fninvoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/fnproject/fn_go/clientv2"
	"github.com/fnproject/fn_go/clientv2/apps"
	"github.com/fnproject/fn_go/clientv2/fns"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// maxAnswer bounds what is read of a function's answer: the management
// functions answer a summary or a reply event of a few KiB; 4 MiB leaves
// room for a fleet of thousands of members.
const maxAnswer = 4 << 20

// ErrNotFound is wrapped by Invoke's error when the server has no such app
// or function: the caller may deploy it and call again.
var ErrNotFound = errors.New("not deployed")

// Client calls the functions of one Fn server. It caches each function's
// invoke endpoint and looks it up again when the server no longer knows it
// (the function was redeployed). It is safe for concurrent use.
type Client struct {
	api  *clientv2.Fn
	base string
	http *http.Client

	mu        sync.Mutex
	endpoints map[string]string // "app/fn" -> invoke URL
}

// New returns a client of the Fn server whose API is at baseURL
// (http://127.0.0.1:8080); hc nil means a client of its own.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fn API URL %q: want scheme://host:port, like http://127.0.0.1:8080", baseURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	rt := httptransport.NewWithClient(u.Host, "/v2", []string{u.Scheme}, hc)
	return &Client{api: clientv2.New(rt, strfmt.Default), base: u.String(), http: hc, endpoints: map[string]string{}}, nil
}

// Answer is what a function answered.
type Answer struct {
	// Status is the function's status: its Fn-Http-Status when the
	// server answered 200 with one (Fn's /invoke), else the server's own
	// status (an Fn error: 404, 429, 502, 504...).
	Status int
	// Header holds the function's headers as the server passed them.
	Header http.Header
	Body   []byte
}

// Invoke calls function fn of app with header and body and returns its
// answer. An error means no answer came: the function could not be found
// or the server not reached.
func (c *Client) Invoke(ctx context.Context, app, fn string, header http.Header, body []byte) (*Answer, error) {
	endpoint, err := c.endpoint(ctx, app, fn, false)
	if err != nil {
		return nil, err
	}
	a, err := c.post(ctx, endpoint, header, body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s/%s at %s: %w", app, fn, endpoint, err)
	}
	// A 404 with no Fn-Http-Status is the server's: the function's id is
	// gone (redeployed under a new one). Look it up once more.
	if a.Status == http.StatusNotFound && a.Header.Get(fncontract.HeaderHTTPStatus) == "" {
		if endpoint, err = c.endpoint(ctx, app, fn, true); err != nil {
			return nil, err
		}
		if a, err = c.post(ctx, endpoint, header, body); err != nil {
			return nil, fmt.Errorf("invoke %s/%s at %s: %w", app, fn, endpoint, err)
		}
	}
	return a, nil
}

func (c *Client) post(ctx context.Context, endpoint string, header http.Header, body []byte) (*Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	return &Answer{Status: statusOf(resp), Header: resp.Header, Body: data}, nil
}

// statusOf is the function's status: Fn's /invoke answers 200 and carries
// it in Fn-Http-Status; a server that passes it as the HTTP status (or an
// error of the server's own) has no such header.
func statusOf(resp *http.Response) int {
	if resp.StatusCode == http.StatusOK {
		if s, err := strconv.Atoi(resp.Header.Get(fncontract.HeaderHTTPStatus)); err == nil && s >= 100 && s <= 599 {
			return s
		}
	}
	return resp.StatusCode
}

// endpoint returns fn's invoke URL, from the cache unless fresh.
func (c *Client) endpoint(ctx context.Context, app, fn string, fresh bool) (string, error) {
	key := app + "/" + fn
	if !fresh {
		c.mu.Lock()
		e, ok := c.endpoints[key]
		c.mu.Unlock()
		if ok {
			return e, nil
		}
	}
	e, err := c.resolve(ctx, app, fn)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.endpoints[key] = e
	c.mu.Unlock()
	return e, nil
}

// resolve asks the server for fn's invoke endpoint, as the fn CLI does.
func (c *Client) resolve(ctx context.Context, app, fn string) (string, error) {
	as, err := c.api.Apps.ListApps(&apps.ListAppsParams{Context: ctx, Name: &app})
	if err != nil {
		return "", fmt.Errorf("find Fn app %s at %s: %w", app, c.base, err)
	}
	if len(as.Payload.Items) == 0 {
		return "", fmt.Errorf("find Fn app %s at %s: %w: no such app; deploy it (fnfleet up does)", app, c.base, ErrNotFound)
	}
	appID := as.Payload.Items[0].ID
	fs, err := c.api.Fns.ListFns(&fns.ListFnsParams{Context: ctx, AppID: &appID, Name: &fn})
	if err != nil {
		return "", fmt.Errorf("find function %s/%s at %s: %w", app, fn, c.base, err)
	}
	if len(fs.Payload.Items) == 0 {
		return "", fmt.Errorf("find function %s/%s at %s: %w: no such function; deploy it (fnfleet up does)", app, fn, c.base, ErrNotFound)
	}
	e, _ := fs.Payload.Items[0].Annotations[fncontract.InvokeEndpointAnnotation].(string)
	if e == "" {
		return "", fmt.Errorf("function %s/%s at %s has no %s annotation", app, fn, c.base, fncontract.InvokeEndpointAnnotation)
	}
	return e, nil
}
