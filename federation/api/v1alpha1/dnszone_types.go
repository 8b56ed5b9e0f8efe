package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DNSZone is a DNS zone the fleet writes its apps' names into, and the
// provider that serves it. A FleetApp's spec.dns.hostname picks the zone
// it ends in (the longest such zone when zones nest). Credentials are only
// ever Secret references: the object itself is safe to read.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=dnsz,categories=fnfleet
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.spec.zone`
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.provider.type`
// +kubebuilder:printcolumn:name="Names",type=integer,JSONPath=`.status.names`
// +kubebuilder:printcolumn:name="Records",type=integer,JSONPath=`.status.records`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DNSZone struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DNSZoneSpec   `json:"spec"`
	Status DNSZoneStatus `json:"status,omitempty"`
}

// DNSZoneList is a list of DNSZones.
//
// +kubebuilder:object:root=true
type DNSZoneList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DNSZone `json:"items"`
}

// DNSZoneSpec says which zone and how to write to it.
type DNSZoneSpec struct {
	// Zone is the zone's fully qualified name with its trailing dot, e.g.
	// fleet.example.com.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\\\.)+$')",message="zone must be a lower-case fully qualified DNS name ending in a dot, e.g. fleet.example.com."
	Zone string `json:"zone"`

	// OwnerID names this fleet in the ownership TXT record of every name
	// it writes (at _fnfleet.<name>): two fleets sharing a zone never
	// touch each other's names. It cannot change, or every name written
	// so far would read as another owner's.
	// +optional
	// +kubebuilder:default=fnfleet
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="ownerID must be lower-case letters, digits and '-'"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="ownerID cannot change: the names written so far carry it in their ownership records and would read as another owner's"
	OwnerID string `json:"ownerID,omitempty"`

	// TTL is the records' TTL in seconds for apps that set none.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	TTL int32 `json:"ttl,omitempty"`

	// Provider is the server or system that serves the zone.
	Provider DNSProvider `json:"provider"`
}

// DNSProviderType names a DNS provider.
// +kubebuilder:validation:Enum=rfc2136;coredns;externaldns
type DNSProviderType string

// DNS providers.
const (
	// DNSProviderRFC2136 sends TSIG-signed dynamic updates (RFC 2136) to an
	// authoritative server: BIND, Knot, PowerDNS and others.
	DNSProviderRFC2136 DNSProviderType = "rfc2136"
	// DNSProviderCoreDNS writes records into etcd for CoreDNS' etcd plugin.
	DNSProviderCoreDNS DNSProviderType = "coredns"
	// DNSProviderExternalDNS writes DNSEndpoint objects into the hub for
	// external-dns to publish, so that every provider it has works.
	DNSProviderExternalDNS DNSProviderType = "externaldns"
)

// DNSProvider is one provider's settings: type, and the block named by it.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'rfc2136' || has(self.rfc2136)",message="provider type rfc2136 needs the rfc2136 block (server, tsigKeyName, tsigSecretRef)"
// +kubebuilder:validation:XValidation:rule="self.type != 'coredns' || has(self.coredns)",message="provider type coredns needs the coredns block (etcdEndpoints)"
// +kubebuilder:validation:XValidation:rule="self.type != 'externaldns' || has(self.externaldns)",message="provider type externaldns needs the externaldns block (namespace)"
// +kubebuilder:validation:XValidation:rule="self.type != 'externaldns' || !has(self.externaldns) || !has(self.externaldns.geoLocations) || self.externaldns.geo",message="externaldns.geoLocations apply only with geo: true"
// +kubebuilder:validation:XValidation:rule="(has(self.rfc2136) ? 1 : 0) + (has(self.coredns) ? 1 : 0) + (has(self.externaldns) ? 1 : 0) <= 1",message="set only the block of the provider type in use (rfc2136, coredns or externaldns)"
type DNSProvider struct {
	// Type is rfc2136, coredns or externaldns.
	Type DNSProviderType `json:"type"`

	// RFC2136 settings, for type rfc2136.
	// +optional
	RFC2136 *RFC2136Provider `json:"rfc2136,omitempty"`

	// CoreDNS settings, for type coredns.
	// +optional
	CoreDNS *CoreDNSProvider `json:"coredns,omitempty"`

	// ExternalDNS settings, for type externaldns.
	// +optional
	ExternalDNS *ExternalDNSProvider `json:"externaldns,omitempty"`
}

// TSIGAlgorithm is the HMAC that signs RFC 2136 updates.
// +kubebuilder:validation:Enum=hmac-sha256;hmac-sha512
type TSIGAlgorithm string

// TSIG algorithms (RFC 8945 recommends SHA-256; SHA-1 and MD5 are not
// offered).
const (
	TSIGHMACSHA256 TSIGAlgorithm = "hmac-sha256"
	TSIGHMACSHA512 TSIGAlgorithm = "hmac-sha512"
)

// RFC2136Provider writes by TSIG-signed dynamic update.
type RFC2136Provider struct {
	// Server is the primary server's host:port, e.g. 192.0.2.53:53.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:XValidation:rule="self.matches('^(\\\\[[0-9a-fA-F:.]+\\\\]|[^:\\\\[\\\\]]+):[0-9]{1,5}$')",message="server must be host:port, e.g. 192.0.2.53:53 or [2001:db8::53]:53"
	Server string `json:"server"`

	// TSIGKeyName is the key's name as the server knows it, e.g.
	// fnfleet-key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	TSIGKeyName string `json:"tsigKeyName"`

	// TSIGAlgorithm is hmac-sha256 (the default) or hmac-sha512.
	// +optional
	// +kubebuilder:default=hmac-sha256
	TSIGAlgorithm TSIGAlgorithm `json:"tsigAlgorithm,omitempty"`

	// TSIGSecretRef is the Secret key holding the base64 TSIG secret (as
	// tsig-keygen prints it). Its key defaults to "secret".
	TSIGSecretRef SecretKeyRef `json:"tsigSecretRef"`
}

// CoreDNSProvider writes SkyDNS records into etcd for CoreDNS' etcd plugin.
type CoreDNSProvider struct {
	// EtcdEndpoints are the etcd client URLs, e.g. http://127.0.0.1:2379.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="an etcd endpoint is a URL, e.g. http://127.0.0.1:2379"
	// +listType=atomic
	EtcdEndpoints []string `json:"etcdEndpoints"`

	// Prefix is the etcd plugin's path prefix (its `path` setting).
	// +optional
	// +kubebuilder:default=/skydns
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/') && !self.endsWith('/')",message="prefix must start with '/' and not end with one, e.g. /skydns"
	Prefix string `json:"prefix,omitempty"`

	// CredentialsSecretRef, when etcd needs a user, is a Secret with keys
	// username and password (the key field is ignored).
	// +optional
	CredentialsSecretRef *SecretKeyRef `json:"credentialsSecretRef,omitempty"`
}

// ExternalDNSProvider writes DNSEndpoint objects (externaldns.k8s.io
// v1alpha1) into the hub; external-dns, run with its crd source, publishes
// them with any provider it has.
type ExternalDNSProvider struct {
	// Namespace of the DNSEndpoint objects.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`

	// Weighted says the provider behind external-dns answers by weight
	// (set identifiers with a weight, as Route53 does), so the Weighted
	// strategy may be used.
	// +optional
	Weighted bool `json:"weighted,omitempty"`

	// Geo says the provider behind external-dns answers by the caller's
	// region (set identifiers with a geolocation), so the Geo strategy may
	// be used.
	// +optional
	Geo bool `json:"geo,omitempty"`

	// GeoLocations say, for strategy Geo, which callers each fleet region
	// answers, as the providerSpecific properties of the provider behind
	// external-dns (e.g. region eu-west: aws/geolocation-continent-code
	// EU). A region is a name, not a place: one without an entry is never
	// guessed, and its Geo record set is refused with why.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=region
	GeoLocations []GeoLocation `json:"geoLocations,omitempty"`
}

// GeoLocation is where one fleet region's callers are, for the provider
// behind external-dns.
type GeoLocation struct {
	// Region is a fleet region (MemberCluster spec.region).
	Region string `json:"region"`
	// Properties are providerSpecific name/value pairs, e.g.
	// {"aws/geolocation-continent-code": "EU"}.
	// +kubebuilder:validation:MinProperties=1
	Properties map[string]string `json:"properties"`
}

// DNSZoneStatus is what the dns function last wrote to the zone.
type DNSZoneStatus struct {
	// Names is how many names the fleet owns in the zone.
	// +optional
	Names int32 `json:"names,omitempty"`

	// Records is how many record sets it owns there (ownership records
	// included).
	// +optional
	Records int32 `json:"records,omitempty"`

	// LastSyncTime is when the zone last held every planned record.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// Conditions: Ready (the provider answers and the last sync wrote
	// everything planned).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the spec generation the status is for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ZoneReady is the DNSZone condition type.
const ZoneReady = "Ready"
