//! The remote tier's object store: opened from a [`RemoteLocation`], checked at start-up,
//! listed and cleaned per topic partition.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use crate::manifest::{ObjectKind, RemoteSegmentId, SegmentManifest};
use crate::{RemoteLocation, Result, TieredError};

/// How to reach the store, beyond its location. S3 settings left `None` come from the usual
/// `AWS_*` environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...).
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// An S3-compatible server's URL; an `http://` one (a test server, MinIO) is allowed.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Access key id and secret.
    pub credentials: Option<(String, String)>,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// How long a request's retries may go on before the caller sees the error (and retries
    /// at its own pace: an upload is redone, never lost).
    pub retry_timeout: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            credentials: None,
            request_timeout: Duration::from_secs(30),
            retry_timeout: Duration::from_secs(60),
        }
    }
}

/// A broker's remote tier: every key lives under the location's prefix.
#[derive(Clone)]
pub struct RemoteStore {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) prefix: String,
    location: RemoteLocation,
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("location", &self.location.to_string())
            .finish()
    }
}

impl RemoteStore {
    /// Opens the store without touching it; [`RemoteStore::check`] finds out whether it works.
    pub fn open(location: &RemoteLocation, options: &RemoteOptions) -> Result<Self> {
        install_ring_provider();
        let unusable = |source| TieredError::Unusable {
            location: location.to_string(),
            source,
        };
        let (store, prefix): (Arc<dyn ObjectStore>, String) = match location {
            RemoteLocation::S3 { bucket, prefix } => {
                let s3 = s3_builder(bucket, options).build().map_err(unusable)?;
                (Arc::new(s3), prefix.clone())
            }
            RemoteLocation::Dir(path) => {
                std::fs::create_dir_all(path).map_err(|e| {
                    unusable(object_store::Error::Generic {
                        store: "LocalFileSystem",
                        source: Box::new(e),
                    })
                })?;
                let local = LocalFileSystem::new_with_prefix(path).map_err(unusable)?;
                (Arc::new(local), String::new())
            }
        };
        Ok(Self {
            store,
            prefix,
            location: location.clone(),
        })
    }

    pub fn location(&self) -> &RemoteLocation {
        &self.location
    }

    /// Writes, reads back and deletes a probe object, so that a wrong endpoint, bucket or
    /// credentials is a clear error at start-up rather than at the first upload.
    pub async fn check(&self, probe_name: &str) -> Result<()> {
        let unusable = |source| TieredError::Unusable {
            location: self.location.to_string(),
            source,
        };
        let path = self.path(&format!(".probe-{probe_name}"));
        let body = format!("chronik probe {probe_name}");
        self.store
            .put(&path, PutPayload::from(body.clone().into_bytes()))
            .await
            .map_err(unusable)?;
        let read = self.store.get(&path).await.map_err(unusable)?;
        let read = read.bytes().await.map_err(unusable)?;
        self.store.delete(&path).await.map_err(unusable)?;
        if read != body.as_bytes() {
            return Err(TieredError::Corrupt {
                key: path.to_string(),
                reason: "the probe object read back differs from what was written".into(),
            });
        }
        Ok(())
    }

    /// The manifests of every whole remote segment of one topic partition incarnation,
    /// by base offset (then upload id). Copies whose manifest was never written are left out.
    pub async fn list_segments(
        &self,
        topic: &str,
        partition: i32,
        topic_id: &str,
    ) -> Result<Vec<SegmentManifest>> {
        let dir = self.path(&RemoteSegmentId::partition_dir(topic, partition, topic_id));
        let listing = self
            .store
            .list_with_delimiter(Some(&dir))
            .await
            .map_err(|source| TieredError::Store {
                key: dir.to_string(),
                action: "listed",
                source,
            })?;
        let mut names: Vec<(i64, u64, Path)> = listing
            .objects
            .into_iter()
            .filter_map(|o| {
                let (base, upload) = RemoteSegmentId::parse_manifest_name(o.location.filename()?)?;
                Some((base, upload, o.location))
            })
            .collect();
        names.sort_by_key(|(base, upload, _)| (*base, *upload));
        let mut manifests = Vec::with_capacity(names.len());
        for (_, _, path) in names {
            manifests.push(self.get_manifest_at(&path).await?);
        }
        Ok(manifests)
    }

    /// The manifest of one upload.
    pub async fn manifest(&self, id: &RemoteSegmentId) -> Result<SegmentManifest> {
        self.get_manifest_at(&self.key(id, ObjectKind::Manifest))
            .await
    }

    async fn get_manifest_at(&self, path: &Path) -> Result<SegmentManifest> {
        let bytes = self.get_all(path).await?;
        SegmentManifest::decode(path.as_ref(), &bytes)
    }

    /// Deletes one upload: the manifest first, so that a delete cut short leaves objects no
    /// listing reports rather than a manifest whose objects are gone. Deleting what is
    /// already gone succeeds.
    pub async fn delete_segment(&self, id: &RemoteSegmentId) -> Result<()> {
        for kind in [
            ObjectKind::Manifest,
            ObjectKind::Segment,
            ObjectKind::Index,
            ObjectKind::ProducerSnapshot,
        ] {
            let path = self.key(id, kind);
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => {
                    return Err(TieredError::Store {
                        key: path.to_string(),
                        action: "deleted",
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    pub(crate) fn key(&self, id: &RemoteSegmentId, kind: ObjectKind) -> Path {
        self.path(&id.key(kind))
    }

    fn path(&self, relative: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(relative)
        } else {
            Path::from(format!("{}/{relative}", self.prefix))
        }
    }

    pub(crate) async fn get_all(&self, path: &Path) -> Result<bytes::Bytes> {
        let failed = |source| TieredError::Store {
            key: path.to_string(),
            action: "read",
            source,
        };
        let result = self.store.get(path).await.map_err(failed)?;
        result.bytes().await.map_err(failed)
    }
}

fn s3_builder(bucket: &str, options: &RemoteOptions) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    if let Some((key, secret)) = &options.credentials {
        builder = builder
            .with_access_key_id(key)
            .with_secret_access_key(secret);
    }
    let plain_http = builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|e| e.starts_with("http://"));
    let client = ClientOptions::new()
        .with_allow_http(plain_http)
        .with_timeout(options.request_timeout);
    builder.with_client_options(client).with_retry(RetryConfig {
        retry_timeout: options.retry_timeout,
        ..RetryConfig::default()
    })
}

/// reqwest's TLS takes the process's default rustls provider: ring, the workspace's one
/// (rustls deprecates it only for lacking post-quantum key exchange). Installing it again is
/// a no-op.
#[allow(deprecated)]
fn install_ring_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
