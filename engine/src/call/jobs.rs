//! The call core's jobs, each in a task of its own: resolving `callSIP`
//! hosts, loading audio (download, decode, speech), `Net` requests. Results
//! go back to the signalling task, which feeds them to the core in order.

use dialtone_audio::{AudioLibrary, TtsRequest};
use dialtone_calls::{Job, JobResult};
use dialtone_core::messages::PlayerSource;
use dialtone_egress::http::HttpEgress;
use dialtone_media::PlayerMedia;
use tokio::sync::mpsc;

pub struct Jobs {
    pub audio: AudioLibrary,
    /// `Net` requests' clients, keeping to the egress policy.
    pub http: HttpEgress,
    pub results: mpsc::UnboundedSender<JobResult>,
    /// `ApplicationStorage`'s store.
    pub storage: std::sync::Arc<dyn crate::app_storage::AppStorage>,
}

impl Jobs {
    pub fn run(&self, job: Job) {
        let results = self.results.clone();
        match job {
            Job::Resolve { call, host, port } => {
                tokio::spawn(async move {
                    let result = resolve(&host, port).await;
                    let _ = results.send(JobResult::Resolved { call, result });
                });
            }
            Job::ResolveTrunk { id, host, port } => {
                tokio::spawn(async move {
                    let result = resolve(&host, port).await;
                    let _ = results.send(JobResult::TrunkResolved { id, result });
                });
            }
            Job::Load {
                unit,
                source: PlayerSource::Sequence(segments),
            } => {
                let audio = self.audio.clone();
                tokio::spawn(async move {
                    let result = load_sequence(&audio, segments).await;
                    let _ = results.send(JobResult::LoadedSequence { unit, result });
                });
            }
            Job::Load { unit, source } => {
                let audio = self.audio.clone();
                tokio::spawn(async move {
                    let result = load(&audio, source).await.map(PlayerMedia::Clip);
                    let _ = results.send(JobResult::Loaded { unit, result });
                });
            }
            Job::Storage {
                session,
                id,
                scope,
                op,
            } => {
                let pending = self.storage.run(scope, op);
                tokio::spawn(async move {
                    let result = pending.await;
                    let _ = results.send(JobResult::Storage {
                        session,
                        id,
                        result,
                    });
                });
            }
            Job::Http(request) => {
                let http = self.http.clone();
                tokio::spawn(async move {
                    let (session, id, url) = (request.session, request.id, request.url.clone());
                    let result = super::net::perform(&http, request).await;
                    tracing::debug!(%session, request = id, %url, code = result.code, "HTTP request done");
                    let _ = results.send(JobResult::Http {
                        session,
                        id,
                        result,
                    });
                });
            }
        }
    }
}

/// The first address `host` resolves to.
async fn resolve(host: &str, port: u16) -> Result<std::net::SocketAddr, String> {
    match tokio::net::lookup_host((host, port)).await {
        Ok(mut addrs) => addrs.next().ok_or_else(|| format!("{host}: no address")),
        Err(e) => Err(format!("{host}: {e}")),
    }
}

async fn load(audio: &AudioLibrary, source: PlayerSource) -> Result<dialtone_media::Clip, String> {
    match source {
        PlayerSource::Url(url) => audio.load(&url).await.map_err(|e| e.to_string()),
        PlayerSource::Tts {
            text,
            voice,
            rate,
            engine,
        } => {
            let request = TtsRequest {
                text,
                voice,
                rate,
                engine,
            };
            audio.synthesize(&request).await.map_err(|e| e.to_string())
        }
        PlayerSource::ToneScript(_) | PlayerSource::ProgressTone(_) => {
            Err("tones are made by the call core, not loaded".into())
        }
        PlayerSource::Sequence(_) => Err("a sequence cannot hold a sequence".into()),
    }
}

/// The longest sequence joined into one clip: an hour at 8 kHz, as for one file.
const MAX_SEQUENCE_SAMPLES: usize = 8_000 * 3_600;

/// Segments of one sequence fetched or synthesized at once: a script's
/// hundred segments are not a hundred downloads or TTS processes.
const SEQUENCE_LOADS_AT_ONCE: usize = 4;

/// A sequence player's segments, fetched and synthesized side by side and
/// joined in order; the first that fails fails the player, naming it.
async fn load_sequence(
    audio: &AudioLibrary,
    segments: Vec<PlayerSource>,
) -> Result<(dialtone_media::Clip, Vec<u64>), String> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(SEQUENCE_LOADS_AT_ONCE));
    let tasks: Vec<_> = segments
        .into_iter()
        .map(|segment| {
            let audio = audio.clone();
            let permits = permits.clone();
            tokio::spawn(async move {
                // Never closed, so a permit always comes.
                let _permit = permits.acquire_owned().await;
                load(&audio, segment).await
            })
        })
        .collect();
    let mut joined: Vec<i16> = Vec::new();
    let mut samples = Vec::with_capacity(tasks.len());
    for (index, task) in tasks.into_iter().enumerate() {
        let clip = match task.await {
            Ok(Ok(clip)) => clip,
            Ok(Err(error)) => return Err(format!("segment {index}: {error}")),
            Err(error) => return Err(format!("segment {index}: {error}")),
        };
        if joined.len() + clip.len() > MAX_SEQUENCE_SAMPLES {
            return Err(format!(
                "segment {index}: the sequence is longer than an hour"
            ));
        }
        joined.extend_from_slice(&clip);
        samples.push(clip.len() as u64);
    }
    Ok((joined.into(), samples))
}
