package order

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// Reasons of the Normal events on an Order.
const (
	ReasonCreated = "Created"
	ReasonDeleted = "Deleted"
)

// maxNamesInEvent caps the ArtifactWorkflows one event names; the rest are
// counted. Event messages are for people, and `kubectl describe` prints them
// on one line.
const maxNamesInEvent = 5

// changes are the ArtifactWorkflows one sync created and deleted. They are
// reported as one event each, not one per ArtifactWorkflow: client-go's
// event spam filter lets 25 events per object through and then one every
// five minutes, so per-artifact events would lose most of a large Order's
// and still cost an API write per artifact.
type changes struct {
	// created holds "name (artifact i)", deleted the names.
	created, deleted []string
}

// reportChanges emits the events of one sync's changes.
func (c *Controller) reportChanges(order *arcv1.Order, done *changes) {
	switch n := len(done.created); {
	case n == 1:
		c.recorder.Event(order, corev1.EventTypeNormal, ReasonCreated, "Created ArtifactWorkflow "+done.created[0])
	case n > 1:
		c.recorder.Eventf(order, corev1.EventTypeNormal, ReasonCreated, "Created %d ArtifactWorkflows: %s", n, summarize(done.created))
	}
	switch n := len(done.deleted); {
	case n == 1:
		c.recorder.Eventf(order, corev1.EventTypeNormal, ReasonDeleted, "Deleted ArtifactWorkflow %s: no artifact of the Order needs it any more", done.deleted[0])
	case n > 1:
		c.recorder.Eventf(order, corev1.EventTypeNormal, ReasonDeleted, "Deleted %d ArtifactWorkflows no artifact of the Order needs any more: %s", n, summarize(done.deleted))
	}
}

// summarize lists the first maxNamesInEvent items and counts the others.
func summarize(items []string) string {
	if len(items) <= maxNamesInEvent {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxNamesInEvent], ", "), len(items)-maxNamesInEvent)
}
