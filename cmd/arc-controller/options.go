package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/artifact-conduit/arc/pkg/controller"
	"github.com/artifact-conduit/arc/pkg/controller/order"
	"github.com/artifact-conduit/arc/pkg/parameters"
	"github.com/artifact-conduit/arc/pkg/schedule"
)

// options are the command-line settings of arc-controller.
type options struct {
	kubeconfig string
	namespace  string

	orderWorkers            int
	artifactWorkflowWorkers int
	kubeAPIQPS              float64
	kubeAPIBurst            int
	resyncPeriod            time.Duration
	orderStatusBatchPeriod  time.Duration
	orderCreatesInFlight    int
	maxParameterBytes       int
	maxMessageBytes         int
	minScheduleInterval     time.Duration

	leaderElect         bool
	leaderElectSet      bool
	leaseName           string
	leaseNamespace      string
	leaseDuration       time.Duration
	renewDeadline       time.Duration
	retryPeriod         time.Duration
	metricsBindAddress  string
	metrics             metricsServingOptions
	healthProbeAddress  string
	shutdownGracePeriod time.Duration
	profiling           bool
}

// The default client-side rate limit, per client. At 50 QPS the Order
// controller took 20 s to create the 1,000 ArtifactWorkflows of 100 Orders
// that a two-core API server accepts in 5: a default install was the
// bottleneck. 300 per second with bursts of 600 is more than one such API
// server takes from all clients together, so on a healthy one ARC is
// limited by what the server accepts, while a runaway loop still cannot
// send thousands of requests a second. The API server's priority and
// fairness keeps ARC from crowding out other clients either way.
const (
	defaultKubeAPIQPS   = 300
	defaultKubeAPIBurst = 600
)

// serviceAccountNamespaceFile holds the pod's namespace when running in a cluster.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func (o *options) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig file. Without it, the in-cluster configuration is used.")
	fs.StringVar(&o.namespace, "namespace", "", "Watch only this namespace. Empty watches all namespaces.")
	fs.IntVar(&o.orderWorkers, "order-workers", 4, "Orders synced in parallel.")
	fs.IntVar(&o.artifactWorkflowWorkers, "artifactworkflow-workers", 8, "ArtifactWorkflows synced in parallel.")
	fs.IntVar(&o.orderCreatesInFlight, "order-creates-in-flight", order.DefaultCreatesInFlight, "ArtifactWorkflow creates the Order controller keeps open at once, over all its workers: an Order's artifacts are created in parallel batches, and this bounds what several large Orders ask of the API server together.")
	fs.Float64Var(&o.kubeAPIQPS, "kube-api-qps", defaultKubeAPIQPS, "Sustained requests per second to the API server of each of ARC's clients: one per controller, one for events, one for the leader election Lease, one for the informers (client-go's default of 5 is far too low for a controller).")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", defaultKubeAPIBurst, "Burst of requests to the API server above --kube-api-qps, per client.")
	fs.DurationVar(&o.orderStatusBatchPeriod, "order-status-batch-period", time.Second, "How long the Order controller collects the phase changes of an Order's ArtifactWorkflows before it syncs the Order: one status write per period instead of one per change. 0 syncs at once.")
	fs.IntVar(&o.maxParameterBytes, "max-parameter-bytes", controller.DefaultMaxParameterBytes, fmt.Sprintf("Most bytes the workflow parameters of one artifact may take, names and values, its type's parameters included (at most %d). An artifact over it does not start, and its Order says why.", parameters.MaxTotalBytes))
	fs.IntVar(&o.maxMessageBytes, "max-message-bytes", controller.DefaultMaxMessageBytes, fmt.Sprintf("Most bytes of each message ARC copies into a status (from Argo, a step or a validation); longer ones are cut and marked (at least %d).", controller.MinMaxMessageBytes))
	fs.DurationVar(&o.minScheduleInterval, "min-schedule-interval", schedule.DefaultMinInterval, "Least time between two runs of an artifact's schedule (spec.cron); an artifact whose schedules run more often does not start, and its Order says why. Argo starts runs at most once a minute.")
	fs.DurationVar(&o.resyncPeriod, "resync-period", 10*time.Minute, "How often every Order and ArtifactWorkflow is synced again, to repair anything an event missed; the resyncs are spread over half the period. 0 disables resyncs.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Hold a Lease so only one replica works at a time. Default: on in a cluster, off with --kubeconfig.")
	fs.StringVar(&o.leaseName, "leader-elect-lease-name", "arc-controller", "Name of the leader election Lease.")
	fs.StringVar(&o.leaseNamespace, "leader-elect-namespace", "", "Namespace of the leader election Lease. Default: the pod's namespace in a cluster, else \"default\".")
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long standby replicas wait before taking over a Lease that is not renewed.")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew the Lease before it gives up leadership.")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often replicas try to acquire or renew the Lease.")
	fs.StringVar(&o.metricsBindAddress, "metrics-bind-address", ":8443", "Address of the Prometheus /metrics endpoint. \"0\" disables it.")
	o.metrics.addFlags(fs)
	fs.StringVar(&o.healthProbeAddress, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints. \"0\" disables them.")
	fs.BoolVar(&o.profiling, "profiling", false, "Serve Go's profiles (net/http/pprof) under /debug/pprof/ on the metrics address, behind the same authentication and authorization as /metrics.")
	fs.DurationVar(&o.shutdownGracePeriod, "shutdown-grace-period", 30*time.Second, "How long running syncs may take to finish after SIGTERM.")
}

// complete fills in defaults that depend on where the controller runs.
func (o *options) complete(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "leader-elect" {
			o.leaderElectSet = true
		}
	})
	inCluster := o.kubeconfig == ""
	if !o.leaderElectSet {
		o.leaderElect = inCluster
	}
	if o.leaseNamespace == "" {
		o.leaseNamespace = "default"
		if data, err := os.ReadFile(serviceAccountNamespaceFile); err == nil && strings.TrimSpace(string(data)) != "" {
			o.leaseNamespace = strings.TrimSpace(string(data))
		}
	}
}

// validate reports every bad flag at once.
func (o *options) validate() error {
	var errs []error
	if o.orderWorkers < 1 {
		errs = append(errs, fmt.Errorf("--order-workers must be at least 1, got %d", o.orderWorkers))
	}
	if o.orderCreatesInFlight < 1 {
		errs = append(errs, fmt.Errorf("--order-creates-in-flight must be at least 1, got %d", o.orderCreatesInFlight))
	}
	if o.artifactWorkflowWorkers < 1 {
		errs = append(errs, fmt.Errorf("--artifactworkflow-workers must be at least 1, got %d", o.artifactWorkflowWorkers))
	}
	if o.kubeAPIQPS <= 0 {
		errs = append(errs, fmt.Errorf("--kube-api-qps must be positive, got %v", o.kubeAPIQPS))
	}
	if o.kubeAPIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-burst must be at least 1, got %d", o.kubeAPIBurst))
	}
	if o.minScheduleInterval < time.Minute {
		errs = append(errs, fmt.Errorf("--min-schedule-interval must be at least 1m (Argo starts scheduled runs at most once a minute), got %v", o.minScheduleInterval))
	}
	if o.resyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("--resync-period must not be negative, got %v", o.resyncPeriod))
	}
	if o.orderStatusBatchPeriod < 0 {
		errs = append(errs, fmt.Errorf("--order-status-batch-period must not be negative, got %v", o.orderStatusBatchPeriod))
	}
	if o.maxParameterBytes < 1 || o.maxParameterBytes > parameters.MaxTotalBytes {
		errs = append(errs, fmt.Errorf("--max-parameter-bytes must be between 1 and %d, got %d", parameters.MaxTotalBytes, o.maxParameterBytes))
	}
	if o.maxMessageBytes < controller.MinMaxMessageBytes {
		errs = append(errs, fmt.Errorf("--max-message-bytes must be at least %d, got %d", controller.MinMaxMessageBytes, o.maxMessageBytes))
	}
	errs = append(errs, o.metrics.validate()...)
	if o.shutdownGracePeriod <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-grace-period must be positive, got %v", o.shutdownGracePeriod))
	}
	if o.leaderElect {
		if o.leaseName == "" {
			errs = append(errs, errors.New("--leader-elect-lease-name must not be empty"))
		}
		if !(o.leaseDuration > o.renewDeadline && o.renewDeadline > o.retryPeriod && o.retryPeriod > 0) {
			errs = append(errs, fmt.Errorf("leader election needs lease duration (%v) > renew deadline (%v) > retry period (%v) > 0",
				o.leaseDuration, o.renewDeadline, o.retryPeriod))
		}
	}
	return errors.Join(errs...)
}
