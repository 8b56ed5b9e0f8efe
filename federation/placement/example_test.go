package placement_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/placement"
)

func ExampleDecide() {
	member := func(name, region string, phase v1alpha1.ClusterPhase, cost string) v1alpha1.MemberCluster {
		c := resource.MustParse(cost)
		return v1alpha1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: region, Tier: 1, CostPerHour: &c},
			Status: v1alpha1.MemberClusterStatus{
				Phase: phase,
				Allocatable: corev1.ResourceList{
					"cpu": resource.MustParse("4"), "memory": resource.MustParse("16Gi"), "pods": resource.MustParse("110"),
				},
			},
		}
	}
	app := &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello"},
		Spec: v1alpha1.FleetAppSpec{
			Demand: v1alpha1.Demand{Replicas: 12, CPU: resource.MustParse("500m"), Memory: resource.MustParse("512Mi")},
			Placement: v1alpha1.PlacementPolicy{
				RequiredRegions: []string{"eu-*"},
				ReplicaDivision: &v1alpha1.ReplicaDivision{Mode: v1alpha1.Divided, Weighting: v1alpha1.WeightFreeCapacity},
			},
		},
	}
	clusters := []v1alpha1.MemberCluster{
		member("fra", "eu-frankfurt-1", v1alpha1.PhaseReady, "0.20"),
		member("iad", "us-ashburn-1", v1alpha1.PhaseReady, "0.10"),
		member("ams-a", "eu-amsterdam-1", v1alpha1.PhaseParked, "0.45"),
		member("ams-b", "eu-amsterdam-1", v1alpha1.PhaseParked, "0.30"),
	}
	d, err := placement.Decide(app, clusters, nil, placement.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Explanation)
	fmt.Println("wake:", d.Capacity.Wake)
	// Output:
	// 1/4 clusters fit (2 parked, 1 outside eu-*); placed 8 replicas on 1 cluster: fra=8; short 4 replicas; wake ams-b
	// wake: [ams-b]
}
