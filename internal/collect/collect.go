// Package collect turns an evidence file of a known format into its summary.
// It is the one place that knows which parser reads which format, used both
// when evidence is collected (runner) and when a verifier re-derives every
// summary from the archived files (verify). The parsers themselves live in
// one sub-package per format.
package collect

import (
	"bufio"
	"io"

	"github.com/evident-dev/evident/internal/collect/anomaly"
	"github.com/evident-dev/evident/internal/collect/cyclonedx"
	"github.com/evident-dev/evident/internal/collect/gotest"
	"github.com/evident-dev/evident/internal/collect/junit"
	"github.com/evident-dev/evident/internal/collect/review"
	"github.com/evident-dev/evident/internal/evidence"
)

// Tests summarises a test report: format is evidence.FormatJUnitXML,
// FormatGoTestJSON or FormatGoTestText.
func Tests(r io.Reader, format string) (evidence.TestSummary, error) {
	switch format {
	case evidence.FormatJUnitXML:
		return junit.Summarize(r)
	case evidence.FormatGoTestJSON, evidence.FormatGoTestText:
		return gotest.Summarize(r, gotest.Format(format))
	}
	return evidence.TestSummary{}, evidence.Errorf(evidence.KindInvalid, "test report format %q is not supported", format)
}

// SBOM reads a CycloneDX SBOM (JSON or XML, sniffed) and writes its SOUP
// list, one JSON line per entry, to soup. It returns the detected format.
func SBOM(r io.Reader, soup io.Writer) (string, evidence.SBOMSummary, error) {
	br := bufio.NewReader(r)
	format, err := cyclonedx.Sniff(br)
	if err != nil {
		return "", evidence.SBOMSummary{}, err
	}
	bw := bufio.NewWriter(soup)
	sum, err := cyclonedx.Read(br, format, func(e evidence.SOUPEntry) error { return evidence.WriteSOUPLine(bw, e) })
	if err != nil {
		return "", evidence.SBOMSummary{}, err
	}
	return string(format), sum, bw.Flush()
}

// Anomalies reads an anomaly list in format (evidence.FormatAnomaliesYAML
// or FormatAnomaliesJSON) and returns its entries as the manifest records
// them, with the list's summary.
func Anomalies(r io.Reader, format string) ([]evidence.Anomaly, []evidence.AnomalyEntry, evidence.AnomalySummary, error) {
	list, err := anomaly.Read(r, anomaly.Format(format))
	if err != nil {
		return nil, nil, evidence.AnomalySummary{}, err
	}
	entries := make([]evidence.AnomalyEntry, len(list))
	for i := range list {
		entries[i] = list[i].Entry()
	}
	return list, entries, evidence.SummarizeAnomalies(entries), nil
}

// Changes reads a change-review record (evidence.FormatChangesJSON) and
// returns its summary, every commit re-judged from its reviews.
func Changes(r io.Reader) (evidence.ChangeSummary, error) {
	_, sum, err := review.Read(r)
	return sum, err
}

// AnomalyFormat picks the anomaly-list format from a file name.
func AnomalyFormat(name string) (string, error) {
	f, err := anomaly.FormatFor(name)
	return string(f), err
}
