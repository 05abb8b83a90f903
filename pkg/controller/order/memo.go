package order

import (
	"bytes"
	"slices"
	"sync"
	"unique"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/naming"
	"github.com/artifact-conduit/arc/pkg/parameters"
)

// Every resync of every Order, and every change of a shared Endpoint, syncs
// Orders whose artifacts did not change. Most of such a sync went into
// deriving again what only depends on what the artifact says: its identity
// (a canonical JSON encoding of its spec), its ArtifactWorkflow's name, and
// its workflow parameters (the flattened spec). planMemos remembers these per
// Order and artifact position.
//
// An entry is never trusted because of a key: it holds the inputs it was
// derived from and is used only while the artifact's inputs compare equal to
// them, byte for byte. So no edit of an Order, an Endpoint or a type, with or
// without a new generation or resourceVersion, can be hidden by it; a changed
// input only costs the derivation again. Whatever depends on other objects
// beyond the inputs compared (whether an Endpoint or Secret exists, what a
// type offers, its schema) is resolved on every sync, as before.

// planMemos holds one orderMemo per cached Order. An entry is dropped when
// its Order is deleted, so the memos never outnumber the Orders.
type planMemos struct {
	mu      sync.Mutex
	byOrder map[cache.ObjectName]*orderMemo
}

// orderMemo is what makePlan derived from the artifacts of one Order, by
// position. mu is held for a whole makePlan: the workqueue never syncs one
// Order in two workers at once, but the memo does not rely on it.
type orderMemo struct {
	mu        sync.Mutex
	uid       types.UID
	name      string
	artifacts []artifactMemo
}

// artifactMemo is what one artifact derived, with the inputs it came from.
type artifactMemo struct {
	// raw is the artifact's spec. It is the cached Order's own slice,
	// which nothing writes to: an edited Order arrives as a new object.
	raw []byte
	// typ, src and dst are the rest of what the identity was derived from
	// (the Endpoint names after the Order's defaults).
	typ, src, dst string
	identity      string
	// awName and hash are naming.ArtifactWorkflow of identity; the Order's
	// name and UID are those of the orderMemo.
	awName, hash string

	// built tells params holds what parameters.BuildFrom gave for raw and
	// the Endpoint inputs srcIn and dstIn. Only parameters an
	// ArtifactWorkflow may carry are kept (see forgetParameters). The
	// inputs are handles: most artifacts of an Order, and of all Orders,
	// share their Endpoints, so one copy of each serves them all (a word
	// each here instead of three strings).
	built        bool
	srcIn, dstIn unique.Handle[parameters.EndpointInputs]
	params       []arcv1.Parameter
}

// acquireMemo returns the locked memo of order; release unlocks it. A memo is
// stored only while its Order is in the cache, checked under the lock that
// forgetMemo takes: the informer removes a deleted Order from its cache before
// it calls the handler that forgets its memo, so a sync that read the Order
// just before it was deleted cannot leave a memo behind.
func (c *Controller) acquireMemo(order *arcv1.Order) *orderMemo {
	key := cache.MetaObjectToName(order)
	c.memos.mu.Lock()
	m := c.memos.byOrder[key]
	if m == nil || m.uid != order.UID || m.name != order.Name {
		m = &orderMemo{uid: order.UID, name: order.Name}
		if cached, err := c.orders.Orders(order.Namespace).Get(order.Name); err == nil && cached.UID == order.UID {
			if c.memos.byOrder == nil {
				c.memos.byOrder = map[cache.ObjectName]*orderMemo{}
			}
			c.memos.byOrder[key] = m
		}
	}
	c.memos.mu.Unlock()
	m.mu.Lock()
	m.resize(len(order.Spec.Artifacts))
	return m
}

// release ends the use of a memo acquireMemo returned.
func (m *orderMemo) release() { m.mu.Unlock() }

// resize makes room for n artifacts and lets go of the ones past n.
func (m *orderMemo) resize(n int) {
	if n < len(m.artifacts) {
		clear(m.artifacts[n:])
		m.artifacts = m.artifacts[:n]
		return
	}
	// The entries past the length are zero: they were cleared above.
	m.artifacts = slices.Grow(m.artifacts, n-len(m.artifacts))[:n]
}

// forgetMemo drops the memo of the Order of key; with a uid, only the memo
// of that Order, not of one created since under the same name.
func (c *Controller) forgetMemo(key cache.ObjectName, uid types.UID) {
	c.memos.mu.Lock()
	defer c.memos.mu.Unlock()
	if m, ok := c.memos.byOrder[key]; ok && (uid == "" || m.uid == uid) {
		delete(c.memos.byOrder, key)
	}
}

// deleteOrder forgets the memo and the pending status write of a deleted Order.
func (c *Controller) deleteOrder(obj interface{}) {
	if m := controller.ObjectMeta(obj); m != nil {
		key := cache.ObjectName{Namespace: m.GetNamespace(), Name: m.GetName()}
		c.forgetMemo(key, m.GetUID())
		c.ownWrites.Forget(key)
	}
}

// memoSize is the number of Orders with a memo, for tests.
func (c *Controller) memoSize() int {
	c.memos.mu.Lock()
	defer c.memos.mu.Unlock()
	return len(c.memos.byOrder)
}

// forSpec returns the entry of artifact i, emptied when the artifact's spec
// is not the one it was derived from.
func (m *orderMemo) forSpec(i int, raw []byte) *artifactMemo {
	a := &m.artifacts[i]
	if !bytes.Equal(a.raw, raw) || (a.raw == nil) != (raw == nil) {
		*a = artifactMemo{}
	}
	// Hold the current Order's slice, not an older one's.
	a.raw = raw
	return a
}

// identityOf returns naming.ArtifactIdentity of the artifact; the spec is
// the one forSpec checked.
func (a *artifactMemo) identityOf(typ, src, dst string) string {
	if a.identity == "" || a.typ != typ || a.src != src || a.dst != dst {
		a.typ, a.src, a.dst = typ, src, dst
		a.identity = naming.ArtifactIdentity(typ, src, dst, a.raw)
		a.awName, a.hash = "", ""
	}
	return a.identity
}

// nameOf returns naming.ArtifactWorkflow of the artifact's identity in the
// Order of the memo; identityOf comes first.
func (a *artifactMemo) nameOf(m *orderMemo) (name, hash string) {
	if a.awName == "" {
		a.awName, a.hash = naming.ArtifactWorkflow(m.name, string(m.uid), a.identity)
	}
	return a.awName, a.hash
}

// parametersOf returns parameters.Build of the artifact's spec between src
// and dst. The result is shared: callers do not modify it. A spec that
// cannot become parameters is not remembered: such an artifact never
// becomes an ArtifactWorkflow, and its error may be large.
func (a *artifactMemo) parametersOf(src, dst arcv1.EndpointSpec) ([]arcv1.Parameter, error) {
	srcIn, dstIn := unique.Make(parameters.InputsOf(src)), unique.Make(parameters.InputsOf(dst))
	if a.built && a.srcIn == srcIn && a.dstIn == dstIn {
		return a.params, nil
	}
	params, err := parameters.BuildFrom(a.raw, srcIn.Value(), dstIn.Value())
	if err != nil {
		a.forgetParameters()
		return nil, err
	}
	a.params, a.srcIn, a.dstIn, a.built = params, srcIn, dstIn, true
	return params, nil
}

// forgetParameters lets go of parameters no ArtifactWorkflow will carry (an
// artifact over the parameter bound, or one that cannot be resolved): a
// hostile Order must not make the memo hold what the controller refuses to
// store.
func (a *artifactMemo) forgetParameters() {
	var noInputs unique.Handle[parameters.EndpointInputs]
	a.params, a.srcIn, a.dstIn, a.built = nil, noInputs, noInputs, false
}

// shareParameters returns the remembered parameters, or have when it holds
// the same: then the memo keeps have, the cached ArtifactWorkflow's own
// slice, and holds no copy of what the cache already holds. A later
// comparison with that ArtifactWorkflow then finds the very same slice.
func (a *artifactMemo) shareParameters(have []arcv1.Parameter) []arcv1.Parameter {
	if a.built && sameParameters(a.params, have) {
		a.params = have
	}
	return a.params
}

// sameParameters tells whether a and b hold the same parameters in the same
// order; like equality.Semantic, nil and empty are the same.
func sameParameters(a, b []arcv1.Parameter) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
