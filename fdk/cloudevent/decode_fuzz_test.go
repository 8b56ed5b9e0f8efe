package cloudevent_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
)

// Decode never panics; it either returns a valid event or an
// *InvalidEventError; and a decoded event survives a structured-mode
// round trip unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(false, "1.0", "id-1", "/src", "t.type", "application/json", []byte(`{"a":1}`))
	f.Add(false, "1.0", "", "/src", "t.type", "application/json", []byte(`{}`))
	f.Add(false, "0.3", "id-2", "/src", "t.type", "text/plain", []byte("hello"))
	f.Add(false, "9.9", "id-3", "/src", "t.type", "", []byte(""))
	f.Add(false, "", "", "", "", "text/plain", []byte("not an event"))
	f.Add(true, "", "", "", "", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":"s1","source":"/s","type":"t","data":{"x":[1,2]}}`))
	f.Add(true, "", "", "", "", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":"s1","type":"t"}`))
	f.Add(true, "", "", "", "", "application/cloudevents+json; charset=utf-8", []byte(`{"specversion":"1.0",`))
	f.Add(true, "", "", "", "", "application/cloudevents-batch+json", []byte(`[]`))
	f.Add(true, "", "", "", "", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":"s","source":"/s","type":"t","data_base64":"!!"}`))
	f.Fuzz(func(t *testing.T, structured bool, specversion, id, source, typ, contentType string, body []byte) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		if !structured {
			for k, v := range map[string]string{"Ce-Specversion": specversion, "Ce-Id": id, "Ce-Source": source, "Ce-Type": typ} {
				if v != "" {
					h.Set(k, v)
				}
			}
		}
		e, err := cloudevent.Decode(context.Background(), h, body)
		if err != nil {
			var invalid *cloudevent.InvalidEventError
			if !errors.As(err, &invalid) || invalid.Reason == "" {
				t.Fatalf("error %v (%T) is not an InvalidEventError with a reason", err, err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("Decode returned an invalid event: %v", err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return // some decoded data cannot be re-encoded as JSON; not Decode's concern
		}
		again, err := cloudevent.Decode(context.Background(), http.Header{"Content-Type": {"application/cloudevents+json"}}, b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if again.ID() != e.ID() || again.Source() != e.Source() || again.Type() != e.Type() || again.SpecVersion() != e.SpecVersion() {
			t.Fatalf("round trip changed the event: %v -> %v", e, again)
		}
	})
}
