package controller

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// countingHandler counts the resyncs (updates whose old and new object are
// the same version) it gets.
type countingHandler struct{ resyncs atomic.Int32 }

func (h *countingHandler) funcs() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{UpdateFunc: func(oldObj, newObj interface{}) {
		if ObjectMeta(oldObj).GetResourceVersion() == ObjectMeta(newObj).GetResourceVersion() {
			h.resyncs.Add(1)
		}
	}}
}

// TestAddEventHandlersGivesNoHandlerResyncs checks that a handler
// AddEventHandlers registers gets no resync even from an informer built
// with a resync period, while a handler registered beside it with that
// period gets them (so that the informer did resync while we watched).
func TestAddEventHandlersGivesNoHandlerResyncs(t *testing.T) {
	client := kubefake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "1"}})
	// client-go's shortest resync period.
	informer := coreinformers.NewConfigMapInformer(client, "ns", time.Second, cache.Indexers{})
	var ours, resyncing countingHandler
	require.NoError(t, AddEventHandlers(InformerHandler{Informer: informer, Handler: ours.funcs()}))
	_, err := informer.AddEventHandler(resyncing.funcs())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go informer.Run(ctx.Done())

	require.Eventually(t, func() bool { return resyncing.resyncs.Load() >= 2 }, 15*time.Second, 10*time.Millisecond,
		"the informer resyncs for a handler that asks for it")
	assert.Zero(t, ours.resyncs.Load(), "a handler registered by AddEventHandlers gets none")
}
