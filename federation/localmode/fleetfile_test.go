package localmode

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

func TestFleetFileRoundTripsSortedByName(t *testing.T) {
	path := filepath.Join(t.TempDir(), FleetFileName)
	f := FleetFile{
		Hub:   FleetHub{Kubeconfig: "/w/hub/kubeconfig.yaml"},
		FnAPI: "http://127.0.0.1:40123", EventsURL: "http://127.0.0.1:40123/t/fnfleet/events", SecretFile: "/w/event-secret",
		PIDs: FleetPIDs{HubFn: 101, Scheduler: 102, EventSource: 103},
		Members: []FleetMember{
			{Name: "b", Region: "us-east", Phase: "Parked", FnURL: "http://127.0.1.2:8080"},
			{Name: "a", Region: "eu-west", Phase: "Ready", Pool: "local-eu-west", FnURL: "http://127.0.1.1:8080", Kubeconfig: "/w/a.yaml"},
		},
	}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFleetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := f
	want.Members = []FleetMember{f.Members[1], f.Members[0]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v, want %+v", got, want)
	}
	if f.Members[0].Name != "b" {
		t.Error("Write reordered the caller's members")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("fleet file mode %v (%v), want 0644", st.Mode(), err)
	}

	// An empty fleet is an empty list, not null, for scripts that iterate.
	if err := (FleetFile{Hub: f.Hub}).Write(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"hub\": {\n    \"kubeconfig\": \"/w/hub/kubeconfig.yaml\"\n  },\n  \"members\": []\n}\n"; string(data) != want {
		t.Errorf("empty fleet written as\n%s\nwant\n%s", data, want)
	}
}

// A reader never sees a partly written file, however the writes and reads
// interleave, and no temporary file is left behind.
func TestFleetFileWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FleetFileName)
	fleet := func(n int) FleetFile {
		f := FleetFile{Hub: FleetHub{Kubeconfig: "/hub"}}
		for i := range n {
			f.Members = append(f.Members, FleetMember{Name: fmt.Sprintf("member-%03d", i), Region: "eu-west", FnURL: "http://127.0.1.1:8080"})
		}
		return f
	}
	if err := fleet(1).Write(path); err != nil {
		t.Fatal(err)
	}
	const writes = 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range writes {
			// Sizes alternate between 1 and 100 members, so a torn
			// read would be a truncated document.
			if err := fleet(1 + 99*(i%2)).Write(path); err != nil {
				t.Error(err)
				return
			}
		}
	})
	reads := 0
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			f, err := ReadFleetFile(path)
			if err != nil {
				t.Errorf("read %d: %v", reads, err)
				return
			}
			if n := len(f.Members); n != 1 && n != 100 {
				t.Errorf("read %d: %d members, want 1 or 100", reads, n)
				return
			}
			reads++
		}
	})
	wg.Wait()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != FleetFileName {
		t.Errorf("directory holds %v, want only %s", entries, FleetFileName)
	}
	t.Logf("%d writes, %d reads", writes, reads)
}
