// Package diff compares two releases of a product: components added,
// removed and changed; per component, SOUP added, removed and upgraded;
// anomalies new, carried over and closed; and test results. It works on
// manifests and SOUP lists only, so it runs the same against an archive or
// against sealed directories.
package diff

import (
	"sort"

	"github.com/evident-dev/evident/internal/evidence"
)

// Release is one side of a comparison.
type Release struct {
	Manifest *evidence.Manifest
	// SOUP holds each component's SOUP entries, by component name.
	SOUP map[string][]evidence.SOUPEntry
}

// Result is the difference from Old to New.
type Result struct {
	Old        string            `json:"old"`
	New        string            `json:"new"`
	Components []ComponentChange `json:"components"`
	Anomalies  AnomalyChanges    `json:"anomalies"`
}

// ComponentChange describes one component across the two releases.
type ComponentChange struct {
	Name       string       `json:"name"`
	Change     string       `json:"change"` // added, removed, changed, unchanged
	OldVersion string       `json:"oldVersion,omitempty"`
	NewVersion string       `json:"newVersion,omitempty"`
	OldClass   string       `json:"oldClass,omitempty"`
	NewClass   string       `json:"newClass,omitempty"`
	SOUP       SOUPChanges  `json:"soup"`
	Tests      []TestChange `json:"tests"`
}

// SOUPChanges lists SOUP differences of a component.
type SOUPChanges struct {
	Added    []SOUPItem    `json:"added"`
	Removed  []SOUPItem    `json:"removed"`
	Upgraded []SOUPUpgrade `json:"upgraded"` // version changed (up or down)
}

// SOUPItem names a SOUP package.
type SOUPItem struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl,omitempty"`
}

// SOUPUpgrade is a package whose version changed.
type SOUPUpgrade struct {
	Name       string `json:"name"`
	OldVersion string `json:"oldVersion"`
	NewVersion string `json:"newVersion"`
}

// TestChange compares a component's test results at one level.
type TestChange struct {
	Level      string `json:"level"`
	OldTests   int    `json:"oldTests"`
	NewTests   int    `json:"newTests"`
	OldFailing int    `json:"oldFailing"`
	NewFailing int    `json:"newFailing"`
	OldSkipped int    `json:"oldSkipped"`
	NewSkipped int    `json:"newSkipped"`
}

// AnomalyChanges classifies anomalies that ship with either release.
type AnomalyChanges struct {
	New     []AnomalyRef `json:"new"`     // ship in New, did not ship in Old
	Carried []AnomalyRef `json:"carried"` // ship in both
	Closed  []AnomalyRef `json:"closed"`  // shipped in Old, do not ship in New
}

// AnomalyRef names an anomaly of a component.
type AnomalyRef struct {
	ID        string `json:"id"`
	Component string `json:"component"`
	Title     string `json:"title"`
}

// Compare returns the difference from old to new.
func Compare(old, new Release) Result {
	res := Result{Old: old.Manifest.Ref().String(), New: new.Manifest.Ref().String()}
	names := map[string]bool{}
	for _, c := range old.Manifest.Components {
		names[c.Name] = true
	}
	for _, c := range new.Manifest.Components {
		names[c.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		oc, nc := old.Manifest.Component(n), new.Manifest.Component(n)
		ch := ComponentChange{Name: n}
		switch {
		case oc == nil:
			ch.Change = "added"
		case nc == nil:
			ch.Change = "removed"
		case oc.Version != nc.Version || oc.SafetyClass != nc.SafetyClass:
			ch.Change = "changed"
		default:
			ch.Change = "unchanged"
		}
		if oc != nil {
			ch.OldVersion, ch.OldClass = oc.Version, string(oc.SafetyClass)
		}
		if nc != nil {
			ch.NewVersion, ch.NewClass = nc.Version, string(nc.SafetyClass)
		}
		ch.SOUP = compareSOUP(old.SOUP[n], new.SOUP[n])
		ch.Tests = compareTests(oc, nc)
		res.Components = append(res.Components, ch)
	}
	res.Anomalies = compareAnomalies(old.Manifest, new.Manifest)
	return res
}

// soupKey identifies a package across versions: its purl without version
// when it has one, else its title.
func soupKey(e evidence.SOUPEntry) string {
	if e.PURL != "" {
		if i := lastAt(e.PURL); i > 0 {
			return e.PURL[:i]
		}
		return e.PURL
	}
	return e.Title()
}

// lastAt finds the "@" that starts a purl's version (after the last "/",
// before any "?" or "#").
func lastAt(purl string) int {
	end := len(purl)
	for i, r := range purl {
		if r == '?' || r == '#' {
			end = i
			break
		}
	}
	slash := -1
	for i := 0; i < end; i++ {
		if purl[i] == '/' {
			slash = i
		}
	}
	for i := end - 1; i > slash; i-- {
		if purl[i] == '@' {
			return i
		}
	}
	return -1
}

func compareSOUP(old, new []evidence.SOUPEntry) SOUPChanges {
	ch := SOUPChanges{Added: []SOUPItem{}, Removed: []SOUPItem{}, Upgraded: []SOUPUpgrade{}}
	ov := map[string]map[string]evidence.SOUPEntry{}
	nv := map[string]map[string]evidence.SOUPEntry{}
	index := func(es []evidence.SOUPEntry, into map[string]map[string]evidence.SOUPEntry) {
		for _, e := range es {
			k := soupKey(e)
			if into[k] == nil {
				into[k] = map[string]evidence.SOUPEntry{}
			}
			into[k][e.Version] = e
		}
	}
	index(old, ov)
	index(new, nv)
	keys := map[string]bool{}
	for k := range ov {
		keys[k] = true
	}
	for k := range nv {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	item := func(e evidence.SOUPEntry) SOUPItem {
		return SOUPItem{Name: e.Title(), Version: e.Version, PURL: e.PURL}
	}
	for _, k := range sorted {
		o, n := ov[k], nv[k]
		switch {
		case len(o) == 0:
			for _, v := range sortedVersions(n) {
				ch.Added = append(ch.Added, item(n[v]))
			}
		case len(n) == 0:
			for _, v := range sortedVersions(o) {
				ch.Removed = append(ch.Removed, item(o[v]))
			}
		case len(o) == 1 && len(n) == 1:
			ov1, nv1 := sortedVersions(o)[0], sortedVersions(n)[0]
			if ov1 != nv1 {
				ch.Upgraded = append(ch.Upgraded, SOUPUpgrade{Name: o[ov1].Title(), OldVersion: ov1, NewVersion: nv1})
			}
		default:
			// Several versions of one package: report versions that come
			// and go.
			for _, v := range sortedVersions(n) {
				if _, ok := o[v]; !ok {
					ch.Added = append(ch.Added, item(n[v]))
				}
			}
			for _, v := range sortedVersions(o) {
				if _, ok := n[v]; !ok {
					ch.Removed = append(ch.Removed, item(o[v]))
				}
			}
		}
	}
	return ch
}

func sortedVersions(m map[string]evidence.SOUPEntry) []string {
	out := make([]string, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func compareTests(oc, nc *evidence.Component) []TestChange {
	sum := func(c *evidence.Component) map[evidence.TestLevel]evidence.TestSummary {
		out := map[evidence.TestLevel]evidence.TestSummary{}
		if c == nil {
			return out
		}
		for _, r := range c.Evidence {
			if r.Tests != nil {
				s := out[r.Level]
				s.Add(*r.Tests)
				out[r.Level] = s
			}
		}
		return out
	}
	os, ns := sum(oc), sum(nc)
	out := []TestChange{}
	for _, l := range evidence.TestLevels {
		o, oOK := os[l]
		n, nOK := ns[l]
		if !oOK && !nOK {
			continue
		}
		out = append(out, TestChange{Level: string(l),
			OldTests: o.Tests, NewTests: n.Tests,
			OldFailing: o.Failed + o.Errors, NewFailing: n.Failed + n.Errors,
			OldSkipped: o.Skipped, NewSkipped: n.Skipped})
	}
	return out
}

func compareAnomalies(old, new *evidence.Manifest) AnomalyChanges {
	type key struct{ comp, id string }
	shipping := func(m *evidence.Manifest) (map[key]evidence.AnomalyEntry, []key) {
		out := map[key]evidence.AnomalyEntry{}
		var order []key
		for _, c := range m.Components {
			for _, a := range c.Anomalies {
				if a.Open() {
					k := key{c.Name, a.ID}
					out[k] = a
					order = append(order, k)
				}
			}
		}
		return out, order
	}
	om, oorder := shipping(old)
	nm, norder := shipping(new)
	ch := AnomalyChanges{New: []AnomalyRef{}, Carried: []AnomalyRef{}, Closed: []AnomalyRef{}}
	for _, k := range norder {
		ref := AnomalyRef{ID: k.id, Component: k.comp, Title: nm[k].Title}
		if _, ok := om[k]; ok {
			ch.Carried = append(ch.Carried, ref)
		} else {
			ch.New = append(ch.New, ref)
		}
	}
	for _, k := range oorder {
		if _, ok := nm[k]; !ok {
			ch.Closed = append(ch.Closed, AnomalyRef{ID: k.id, Component: k.comp, Title: om[k].Title})
		}
	}
	return ch
}
