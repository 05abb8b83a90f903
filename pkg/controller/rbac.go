package controller

// The permissions arc-controller needs, as controller-gen RBAC markers.
// hack/update-rbac.sh turns them into manifests/rbac/role.yaml (the
// ClusterRole arc-controller, and the Role arc-controller in arc-system for
// leader election); hack/verify-rbac.sh fails when that file is stale, and
// TestRBACMarkersCoverClientCalls (rbac_test.go) fails when the code makes an
// API call these markers do not allow. Grant nothing here that the code does
// not use.
//
// ARC's own objects. Endpoints and the two artifact types are only read,
// through informers. Orders are read through an informer and only their
// status is written (UpdateStatus): ARC never changes what a user ordered.
//
// +kubebuilder:rbac:groups=arc.opendefense.cloud,resources=endpoints;artifacttypes;clusterartifacttypes;orders,verbs=get;list;watch
//
// Orders are deleted only once their spec.ttlSecondsAfterFinished passed.
//
// +kubebuilder:rbac:groups=arc.opendefense.cloud,resources=orders,verbs=delete
// +kubebuilder:rbac:groups=arc.opendefense.cloud,resources=orders/status,verbs=update
//
// ArtifactWorkflows belong to ARC: the Order controller creates them,
// restores their spec (Update) and deletes the ones no artifact needs; the
// ArtifactWorkflow controller writes their status (UpdateStatus). No patch:
// the code never patches.
//
// +kubebuilder:rbac:groups=arc.opendefense.cloud,resources=artifactworkflows,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=arc.opendefense.cloud,resources=artifactworkflows/status,verbs=update
//
// The finalizers subresources: ARC's children carry a controller owner
// reference with blockOwnerDeletion=true (ArtifactWorkflow -> Order, Workflow
// -> ArtifactWorkflow). API servers that run the admission plugin
// OwnerReferencesPermissionEnforcement (OpenShift does by default) only let a
// client set blockOwnerDeletion when it may update the owner's finalizers
// subresource. CRDs serve no finalizers subresource, so this grants no API
// call of its own; it only satisfies that admission check.
//
// +kubebuilder:rbac:groups=arc.opendefense.cloud,resources=orders/finalizers;artifactworkflows/finalizers,verbs=update
//
// Argo Workflows: the ArtifactWorkflow controller watches the Workflows it
// made (label selector), creates them and reads one directly when its cache
// lags. The Order controller reads one directly before it deletes an
// ArtifactWorkflow whose artifact stopped resolving, when neither its status
// nor the cache tells whether its Workflow was just created. It patches a Workflow only to remove its own finalizer once it
// recorded the final phase, and deletes a finished Workflow after its
// type's ttlAfterFinished or ttlAfterFailed; it never updates one (its cache
// holds slim copies). The garbage collector removes a Workflow with its
// ArtifactWorkflow. It does not read
// WorkflowTemplates either; Argo's own controller resolves the template.
//
// +kubebuilder:rbac:groups=argoproj.io,resources=workflows,verbs=get;list;watch;create;patch;delete
//
// Argo CronWorkflows run scheduled artifacts. The ArtifactWorkflow
// controller watches the ones it made (label selector), creates them,
// replaces their spec with a JSON patch when a schedule changes or an Order
// is suspended (never an update: Argo keeps the run counters in their
// status, which has no subresource), reads one directly when a create finds
// it exists, and deletes one whose artifact lost its schedule.
//
// +kubebuilder:rbac:groups=argoproj.io,resources=cronworkflows,verbs=get;list;watch;create;patch;delete
//
// Secrets: the Order controller only needs to know that the Secret an
// Endpoint names exists. It watches Secrets through a metadata-only informer
// (PartialObjectMetadata) and drops even labels and annotations, so it never
// receives or holds Secret data. RBAC cannot grant metadata without data,
// though: this rule lets the service account read every Secret's data in
// every namespace it watches. Restrict it by running with --namespace and a
// RoleBinding, or by limiting the namespaces, if that matters to you.
// (The informer uses list and watch; get is granted with them, as list
// already returns everything get would.)
//
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;list;watch
//
// Namespaces: a ClusterArtifactType's namespaceSelector matches namespace
// labels, so both controllers watch namespaces (their metadata; with
// --namespace only that one namespace).
//
// +kubebuilder:rbac:groups=core,resources=namespaces,verbs=get;list;watch
//
// Events (core/v1, through client-go's event recorder, which creates events
// and patches the count of repeated ones).
//
// +kubebuilder:rbac:groups=core,resources=events,verbs=create;patch
//
// Leader election: the Lease arc-controller (the default of
// --leader-elect-lease-name) in the controller's namespace. These rules
// become a Role in arc-system (kustomize renames the namespace when you
// install elsewhere). Reading and renewing are limited to that one Lease, so
// the token cannot take over another component's leader election there.
// Create cannot be limited: a create request names no existing object, and
// RBAC never matches a rule with resourceNames against it. So create is a
// rule of its own, for any Lease in arc-system. A different
// --leader-elect-lease-name needs the Role's resourceNames patched.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;update,resourceNames=arc-controller,namespace=arc-system
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=create,namespace=arc-system
//
// The metrics endpoint authenticates its clients with a TokenReview and
// authorizes them with a SubjectAccessReview (get on the non-resource URL
// /metrics), like kube-controller-manager's secure port; k8s.io/apiserver's
// delegating authenticator and ARC's own authorizer make these calls. A
// review only asks the API server a question: it reads nothing and changes
// nothing.
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
