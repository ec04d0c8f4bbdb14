//! The commented ImageSetConfiguration that `ferry init` prints. It must itself load and validate (tested).

/// A commented v2alpha1 ImageSetConfiguration showing every content type. Valid as printed.
pub(crate) const TEMPLATE: &str = r#"# What ferry mirrors, in oc-mirror's ImageSetConfiguration format (v2alpha1).
# Check it with `ferry validate -c FILE`; remove the sections you do not need.
kind: ImageSetConfiguration
apiVersion: mirror.openshift.io/v2alpha1

# Largest archive segment written by mirror-to-disk, in GiB (optional).
archiveSize: 4

mirror:
  # OpenShift releases, resolved from the update graph (Cincinnati).
  platform:
    channels:
      - name: stable-4.16          # `type: okd` for OKD channels (default `ocp`)
        minVersion: 4.16.10        # without min/max: the channel's latest release only
        maxVersion: 4.16.12
        # shortestPath: true       # only the releases on the upgrade path from min to max
        # full: true               # every release in the channel
    graph: true                    # also mirror the update-graph image for an OpenShift Update Service
    architectures:                 # amd64 (default), arm64, ppc64le, s390x, or multi (all of them)
      - amd64
    # platforms:                   # instead of architectures: keep some platforms of the multi payload
    #   - linux/amd64              # (a sparse manifest list: the mirror registry must accept it)
    #   - linux/arm64
    # kubeVirtContainer: true      # also mirror the KubeVirt container image of the release

  # Operator catalogs, filtered to packages, channels and versions. Without `packages`, every package's
  # default-channel head is mirrored; `full: true` takes every version instead of channel heads.
  operators:
    - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.16
      # targetCatalog: my-org/redhat-operator-index   # repository path of the rebuilt catalog in the mirror
      # targetTag: v4.16-filtered                     # its tag (default: the source tag)
      platforms:                   # platforms of the catalog and operator images to keep (default: all)
        - linux/amd64
      packages:
        - name: aws-load-balancer-operator          # the head of each channel's default channel
        - name: cluster-logging
          channels:
            - name: stable-6.1
              minVersion: 6.1.0                     # from this version up to the channel head
        - name: rhacs-operator
          defaultChannel: stable                    # needed when the listed channels leave out the default one
          channels:
            - name: stable
              minVersion: 4.5.0
              maxVersion: 4.5.9

  # Individual images. Pin by digest where you can; `platforms` keeps part of a multi-arch image.
  additionalImages:
    - name: registry.redhat.io/ubi9/ubi:latest
    - name: quay.io/prometheus/busybox:latest
      platforms:
        - linux/amd64
        - os: linux
          architecture: arm64
    # - name: registry.example.com/team/tool:1.2
    #   targetRepo: mirrored/tool  # repository path in the mirror instead of team/tool
    #   targetTag: "1.2-mirrored"  # tag in the mirror instead of 1.2

  # Helm charts, and the images they reference.
  helm:
    repositories:
      - name: podinfo
        url: https://stefanprodan.github.io/podinfo
        charts:
          - name: podinfo
            version: 6.7.1
            # imagePaths:          # extra places the chart names images, as JSONPath
            #   - "{.spec.template.spec.containers[*].image}"
    # local:
    #   - name: my-chart
    #     path: /path/to/my-chart-1.0.0.tgz

  # Images never to mirror, whatever brings them in: regular expressions searched in image references.
  blockedImages:
    - name: ^docker\.io/library/alpine
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::parse_imageset;
    use crate::config::AnyConfig;
    use std::path::Path;

    #[test]
    fn template_loads_and_validates() {
        let isc = parse_imageset(TEMPLATE, Path::new("template.yaml")).unwrap_or_else(|e| panic!("{e}"));
        assert!(isc.check().is_empty());
        assert!(isc.warnings().is_empty());
        let mirror = &isc.spec.mirror;
        assert_eq!(isc.spec.archive_size, Some(4));
        assert_eq!(mirror.platform.channels.len(), 1);
        assert_eq!(mirror.operators[0].packages.len(), 3);
        assert_eq!(mirror.additional_images[1].platforms.len(), 2);
        assert_eq!(mirror.helm.repositories[0].charts[0].name, "podinfo");
        assert!(isc.blocked_patterns()[0].is_match("docker.io/library/alpine:3.20"));
    }

    #[test]
    fn template_round_trips_through_to_yaml() {
        let isc = parse_imageset(TEMPLATE, Path::new("template.yaml")).unwrap();
        let again = crate::config::load::parse_any(&isc.to_yaml(), Path::new("again.yaml")).unwrap();
        assert_eq!(again, AnyConfig::ImageSet(isc));
    }
}
