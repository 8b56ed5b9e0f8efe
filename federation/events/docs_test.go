package events_test

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/federation/events"
)

const catalogDoc = "../../docs/events.md"

// catalogRows renders the catalog as docs/events.md's table rows, cell by
// cell: payloads as their Go name and JSON fields, so that a renamed
// field shows too.
func catalogRows() [][]string {
	var rows [][]string
	for _, s := range events.Catalog() {
		rows = append(rows, []string{
			"`" + s.Type + "`", "`" + s.Source + "`", s.Subject, payloadCell(s.Payload),
			s.Sender, strings.Join(s.Handlers, ", "), s.When,
		})
	}
	return rows
}

func payloadCell(p any) string {
	t := reflect.TypeOf(p)
	var fields []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	return "`" + t.Name() + "` {" + strings.Join(fields, ", ") + "}"
}

// docRows reads the table under "## The catalog" in docs/events.md, past
// its header and separator rows.
func docRows(t *testing.T) [][]string {
	t.Helper()
	raw, err := os.ReadFile(catalogDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## The catalog\n")
	if !ok {
		t.Fatalf("%s has no section \"## The catalog\"", catalogDoc)
	}
	var rows [][]string
	inTable := false
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 {
		t.Fatalf("%s: no table under \"## The catalog\"", catalogDoc)
	}
	return rows[2:]
}

// TestDocsListExactlyTheCatalog keeps docs/events.md's table equal to
// Catalog: on a difference it prints the table to paste.
func TestDocsListExactlyTheCatalog(t *testing.T) {
	want, got := catalogRows(), docRows(t)
	if slices.EqualFunc(got, want, slices.Equal[[]string]) {
		return
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("docs lack row %d: %v", i, want[i])
		case i >= len(want):
			t.Errorf("docs have row %d that the catalog lacks: %v", i, got[i])
		case !slices.Equal(got[i], want[i]):
			t.Errorf("row %d:\n docs    %v\n catalog %v", i, got[i], want[i])
		}
	}
	var b strings.Builder
	b.WriteString("| type | source | subject | payload | sender | handlers | sent when |\n|---|---|---|---|---|---|---|\n")
	for _, r := range want {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	t.Logf("the table, from the catalog:\n%s", b.String())
}
