//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// quotaExample is the documented ResourceQuota.
const quotaExample = "examples/quota/resourcequota.yaml"

// quotaOrders is the object count the example puts on Orders.
var quotaOrders = corev1.ResourceName("count/orders." + arcv1.GroupName)

// TestResourceQuotaExample applies the example ResourceQuota in a namespace,
// fills it with as many Orders as it allows, and shows the API server
// refusing the next one, then accepting it once an Order is deleted.
func TestResourceQuotaExample(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "quota")
	applied := f.applyRepoFile(quotaExample)
	require.Len(t, applied, 1)
	name := applied[0].GetName()

	// The API server refuses every create a quota counts until
	// kube-controller-manager's quota controller has computed its usage.
	var limit int
	f.waitFor("ResourceQuota "+name+" counted", defaultTimeout, func(ctx context.Context) (bool, string, error) {
		q, err := s.kube.CoreV1().ResourceQuotas(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		hard, counted := q.Status.Hard[quotaOrders]
		_, used := q.Status.Used[quotaOrders]
		limit = int(hard.Value())
		return counted && used, fmt.Sprintf("hard %v, used %v", q.Status.Hard, q.Status.Used), nil
	})
	require.Positive(t, limit, "the example limits Orders")
	for _, r := range []string{"count/artifactworkflows." + arcv1.GroupName, "count/workflows.argoproj.io"} {
		q, err := s.kube.CoreV1().ResourceQuotas(f.ns).Get(t.Context(), name, metav1.GetOptions{})
		require.NoError(t, err)
		hard := q.Status.Hard[corev1.ResourceName(r)]
		// An Order has at most MaxArtifactsPerOrder artifacts, one ArtifactWorkflow and one Workflow each.
		assert.Equal(t, int64(arcv1.MaxArtifactsPerOrder*limit), hard.Value(), "%s: MaxArtifactsPerOrder per Order the quota allows", r)
	}

	// Orders whose Endpoints do not exist: ARC makes no ArtifactWorkflow for
	// them, so only the Order count moves.
	order := func(i int) *arcv1.Order {
		return &arcv1.Order{
			ObjectMeta: metav1.ObjectMeta{Name: "order-" + strconv.Itoa(i)},
			Spec: arcv1.OrderSpec{Artifacts: []arcv1.OrderArtifact{{
				Type: "oci", SrcRef: ref("nowhere"), DstRef: ref("nowhere"),
			}}},
		}
	}
	for i := 1; i <= limit; i++ {
		f.createOrder(order(i))
	}
	_, err := s.arc.ArcV1alpha1().Orders(f.ns).Create(t.Context(), order(limit+1), metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "Order %d of a quota of %d: want Forbidden, got %v", limit+1, limit, err)
	assert.Contains(t, err.Error(), "exceeded quota: "+name)
	assert.Contains(t, err.Error(), string(quotaOrders))
	t.Logf("Order %d refused: %v", limit+1, err)

	// Deleting one makes room (the quota controller recounts).
	require.NoError(t, s.arc.ArcV1alpha1().Orders(f.ns).Delete(t.Context(), "order-1", metav1.DeleteOptions{}))
	var last error
	f.waitFor("room for another Order", defaultTimeout, func(ctx context.Context) (bool, string, error) {
		_, last = s.arc.ArcV1alpha1().Orders(f.ns).Create(ctx, order(limit+1), metav1.CreateOptions{})
		if last != nil && !strings.Contains(last.Error(), "exceeded quota") {
			return false, "", last
		}
		return last == nil, errString(last), nil
	})
}
