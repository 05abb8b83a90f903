package controller

import (
	"sync"
	"time"
)

// ArgoProgress remembers, per namespace, when Argo last started one of
// ARC's Workflows (gave it its first phase): the sign that Argo is working
// through the Workflows ARC created, not down. It is safe for concurrent use.
type ArgoProgress struct {
	mu      sync.Mutex
	started map[string]time.Time
}

// NewArgoProgress returns an ArgoProgress that has seen nothing.
func NewArgoProgress() *ArgoProgress {
	return &ArgoProgress{started: map[string]time.Time{}}
}

// Record notes that Argo started a Workflow in namespace at t.
func (p *ArgoProgress) Record(namespace string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.started[namespace]) {
		p.started[namespace] = t
	}
}

// Last returns when Argo last started a Workflow in namespace.
func (p *ArgoProgress) Last(namespace string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.started[namespace]
	return t, ok
}

// Forget drops what is known of namespace, once it is gone.
func (p *ArgoProgress) Forget(namespace string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.started, namespace)
}
