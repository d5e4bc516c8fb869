//! Actors recently signed in, kept for a few seconds so a request does not reload its
//! user and organization. API clients are never kept (a rotated secret must stop its
//! tokens at once). Every change to users or organizations on this replica empties the
//! cache; on other replicas an entry outlives such a change by at most the TTL
//! (`ORGHUB_ACTOR_CACHE_SECS`, 0 turns the cache off).
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Actor;

/// Enough for every user of a large MSP; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub struct ActorCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Actor)>>,
}

impl ActorCache {
    pub fn new(ttl: Duration) -> Self {
        ActorCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Actor)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The actor of a token subject, if kept and fresh.
    pub fn get(&self, sub: &str) -> Option<Actor> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries();
        let (at, actor) = entries.get(sub)?;
        (at.elapsed() < self.ttl).then(|| actor.clone())
    }

    pub fn put(&self, sub: &str, actor: &Actor) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(sub.to_owned(), (Instant::now(), actor.clone()));
    }

    /// Forgets everything: called after any change to users or organizations.
    pub fn clear(&self) {
        self.entries().clear();
    }
}

impl Default for ActorCache {
    fn default() -> Self {
        ActorCache::new(Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use uuid::Uuid;

    fn actor() -> Actor {
        let now = chrono::Utc::now();
        let user = entity::user::Model {
            id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            username: "a@b.test".into(),
            username_key: "a@b.test".into(),
            sub: None,
            role: "admin".into(),
            is_staff: false,
            is_api_user: false,
            is_test_user: false,
            created_at: now,
            updated_at: now,
        };
        Actor {
            user_id: user.id,
            username: user.username.clone(),
            org_id: user.org_id,
            org_path: "/x/".into(),
            role: Role::Admin,
            is_staff: false,
            user: Some(user.into()),
        }
    }

    #[test]
    fn an_entry_lives_for_the_ttl_and_clear_forgets_all() {
        let cache = ActorCache::new(Duration::from_millis(50));
        let a = actor();
        cache.put("s", &a);
        assert_eq!(cache.get("s").map(|x| x.user_id), Some(a.user_id));
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("s").is_none(), "expired");
        let b = actor();
        cache.put("s", &b);
        cache.clear();
        assert!(cache.get("s").is_none(), "cleared");
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = ActorCache::new(Duration::ZERO);
        let a = actor();
        cache.put("s", &a);
        assert!(cache.get("s").is_none());
    }
}
