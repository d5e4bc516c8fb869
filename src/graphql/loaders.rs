//! Per-request DataLoaders, so nested fields of a list cost a constant number of queries.
use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use uuid::Uuid;

use crate::domain::Store;
use crate::domain::api_clients::{self, ApiClient};
use crate::domain::organizations::{self, Org};
use crate::domain::pack_configs::{self, PackConfig};
use crate::domain::packs::{self, PackSpec};
use crate::domain::tags::{self, Tag};
use crate::domain::users::{self, User};
use crate::domain::variables::{self, Variable};

pub struct Loaders {
    pub org: Lazy<OrgById>,
    pub children: Lazy<ChildrenOf>,
    pub descendants: Lazy<DescendantCount>,
    pub users_of_org: Lazy<UsersOfOrg>,
    pub user: Lazy<UserById>,
    pub client_of_user: Lazy<ClientOfUser>,
    pub tags_of_org: Lazy<TagsOfOrg>,
    pub tags_owned: Lazy<TagsOwnedBy>,
    pub tag_carriers: Lazy<TagCarriers>,
    pub variables_of_org: Lazy<VariablesOfOrg>,
    pub pack_config: Lazy<PackConfigById>,
    pub configs_of_org: Lazy<ConfigsOfOrg>,
    pub packs_of_org: Lazy<PacksOfOrg>,
    pub pack_tags: Lazy<PackTags>,
    pub tagged_packs: Lazy<TaggedPacks>,
    pub latest_run: Lazy<LatestRun>,
    pub execution: Lazy<ExecutionById>,
    pub exec_tasks: Lazy<TasksOfExecution>,
    pub exec_children: Lazy<ChildExecutions>,
    pub exec_handlers: Lazy<HandlerExecutions>,
    pub execs_of_org: Lazy<ExecutionsOfOrg>,
    pub refs_of_config: Lazy<ReferencesOfConfig>,
}

impl Loaders {
    /// Loads, one statement per field, what the selection will ask of each org of a list.
    pub async fn prime_orgs(
        &self,
        look: &async_graphql::Lookahead<'_>,
        orgs: &[Org],
    ) -> Result<(), async_graphql::Error> {
        let ids: Vec<Uuid> = orgs.iter().map(|o| o.id).collect();
        if look.field("managingOrg").exists() {
            self.org
                .load_many(orgs.iter().filter_map(|o| o.managing_org_id))
                .await?;
        }
        if look.field("managedOrgs").exists() {
            self.children.load_many(ids.iter().copied()).await?;
        }
        if look.field("descendantOrgCount").exists() {
            self.descendants
                .load_many(orgs.iter().map(|o| (o.id, o.path.clone())))
                .await?;
        }
        if look.field("users").exists() {
            self.users_of_org.load_many(ids.iter().copied()).await?;
        }
        if look.field("tags").exists() {
            self.tags_of_org.load_many(ids.iter().copied()).await?;
        }
        if look.field("createdTags").exists() {
            self.tags_owned.load_many(ids.iter().copied()).await?;
        }
        if look.field("variables").exists() {
            self.variables_of_org.load_many(ids.iter().copied()).await?;
        }
        if look.field("packConfigs").exists() {
            self.configs_of_org.load_many(ids.iter().copied()).await?;
        }
        if look.field("installedPacks").exists() {
            self.packs_of_org.load_many(ids.iter().copied()).await?;
        }
        Ok(())
    }

    pub fn new(store: &Store) -> Self {
        let shared = std::sync::Arc::new(store.clone());
        Loaders {
            org: Lazy::new(&shared, OrgById),
            children: Lazy::new(&shared, ChildrenOf),
            descendants: Lazy::new(&shared, DescendantCount),
            users_of_org: Lazy::new(&shared, UsersOfOrg),
            user: Lazy::new(&shared, UserById),
            client_of_user: Lazy::new(&shared, ClientOfUser),
            tags_of_org: Lazy::new(&shared, TagsOfOrg),
            tags_owned: Lazy::new(&shared, TagsOwnedBy),
            tag_carriers: Lazy::new(&shared, TagCarriers),
            variables_of_org: Lazy::new(&shared, VariablesOfOrg),
            pack_config: Lazy::new(&shared, PackConfigById),
            configs_of_org: Lazy::new(&shared, ConfigsOfOrg),
            packs_of_org: Lazy::new(&shared, PacksOfOrg),
            pack_tags: Lazy::new(&shared, PackTags),
            tagged_packs: Lazy::new(&shared, TaggedPacks),
            latest_run: Lazy::new(&shared, LatestRun),
            execution: Lazy::new(&shared, ExecutionById),
            exec_tasks: Lazy::new(&shared, TasksOfExecution),
            exec_children: Lazy::new(&shared, ChildExecutions),
            exec_handlers: Lazy::new(&shared, HandlerExecutions),
            execs_of_org: Lazy::new(&shared, ExecutionsOfOrg),
            refs_of_config: Lazy::new(&shared, ReferencesOfConfig),
        }
    }
}

/// A loader made on first use: most requests touch two or three of them.
pub struct Lazy<T: Send + Sync + 'static> {
    store: std::sync::Arc<Store>,
    make: fn(Store) -> T,
    cell: std::sync::OnceLock<DataLoader<T, HashMapCache>>,
}

impl<T: Send + Sync + 'static> Lazy<T> {
    fn new(store: &std::sync::Arc<Store>, make: fn(Store) -> T) -> Self {
        Lazy {
            store: store.clone(),
            make,
            cell: std::sync::OnceLock::new(),
        }
    }
}

impl<T: Send + Sync + 'static> std::ops::Deref for Lazy<T> {
    type Target = DataLoader<T, HashMapCache>;

    fn deref(&self) -> &Self::Target {
        self.cell
            .get_or_init(|| cached((self.make)(Store::clone(&self.store))))
    }
}

fn cached<T: Send + Sync + 'static>(loader: T) -> DataLoader<T, HashMapCache> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

type LoadResult<V> = Result<HashMap<Uuid, V>, async_graphql::Error>;

/// Every key gets an entry (empty for none), so the per-request cache also remembers
/// "nothing here" and asks the database once.
fn every_key<V>(keys: &[Uuid], mut found: HashMap<Uuid, Vec<V>>) -> HashMap<Uuid, Vec<V>> {
    for k in keys {
        found.entry(*k).or_default();
    }
    found
}

pub struct OrgById(Store);
impl Loader<Uuid> for OrgById {
    type Value = Org;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Org> {
        Ok(organizations::by_ids(&self.0, keys).await?)
    }
}

pub struct ChildrenOf(Store);
impl Loader<Uuid> for ChildrenOf {
    type Value = Vec<Org>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Org>> {
        Ok(every_key(
            keys,
            organizations::children_of(&self.0, keys).await?,
        ))
    }
}

/// Keyed by (id, path): the count needs the path, which the caller already holds.
pub struct DescendantCount(Store);
impl Loader<(Uuid, String)> for DescendantCount {
    type Value = i64;
    type Error = async_graphql::Error;
    async fn load(
        &self,
        keys: &[(Uuid, String)],
    ) -> Result<HashMap<(Uuid, String), i64>, async_graphql::Error> {
        let counts = organizations::descendant_counts(&self.0, keys).await?;
        Ok(keys
            .iter()
            .map(|k| (k.clone(), counts.get(&k.0).copied().unwrap_or(0)))
            .collect())
    }
}

pub struct UsersOfOrg(Store);
impl Loader<Uuid> for UsersOfOrg {
    type Value = Vec<User>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<User>> {
        Ok(every_key(keys, users::of_orgs(&self.0, keys).await?))
    }
}

pub struct UserById(Store);
impl Loader<Uuid> for UserById {
    type Value = User;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<User> {
        Ok(users::by_ids(&self.0, keys).await?)
    }
}

/// The API client a machine user belongs to.
pub struct ClientOfUser(Store);
impl Loader<Uuid> for ClientOfUser {
    type Value = ApiClient;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<ApiClient> {
        Ok(api_clients::by_user_ids(&self.0, keys).await?)
    }
}

pub struct TagsOfOrg(Store);
impl Loader<Uuid> for TagsOfOrg {
    type Value = Vec<Tag>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Tag>> {
        Ok(every_key(keys, tags::of_orgs(&self.0, keys).await?))
    }
}

pub struct TagsOwnedBy(Store);
impl Loader<Uuid> for TagsOwnedBy {
    type Value = Vec<Tag>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Tag>> {
        Ok(every_key(keys, tags::owned_by(&self.0, keys).await?))
    }
}

pub struct TagCarriers(Store);
impl Loader<Uuid> for TagCarriers {
    type Value = Vec<Org>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Org>> {
        Ok(every_key(keys, tags::carriers(&self.0, keys).await?))
    }
}

/// Each org's own variables, secrets masked.
pub struct VariablesOfOrg(Store);
impl Loader<Uuid> for VariablesOfOrg {
    type Value = Vec<Variable>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Variable>> {
        Ok(every_key(keys, variables::of_orgs(&self.0, keys).await?))
    }
}

pub struct PackConfigById(Store);
impl Loader<Uuid> for PackConfigById {
    type Value = PackConfig;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<PackConfig> {
        Ok(pack_configs::by_ids(&self.0, keys).await?)
    }
}

pub struct ConfigsOfOrg(Store);
impl Loader<Uuid> for ConfigsOfOrg {
    type Value = Vec<PackConfig>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<PackConfig>> {
        Ok(every_key(keys, pack_configs::of_orgs(&self.0, keys).await?))
    }
}

/// Pack ids installed on each org.
pub struct PacksOfOrg(Store);
impl Loader<Uuid> for PacksOfOrg {
    type Value = Vec<String>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<String>> {
        Ok(every_key(keys, packs::installed_on(&self.0, keys).await?))
    }
}

/// Tags on each pack, keyed by pack id.
pub struct PackTags(Store);
impl Loader<String> for PackTags {
    type Value = Vec<Tag>;
    type Error = async_graphql::Error;
    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<Tag>>, async_graphql::Error> {
        let mut found = packs::tags_of(&self.0, keys).await?;
        for k in keys {
            found.entry(k.clone()).or_default();
        }
        Ok(found)
    }
}

/// Packs carrying each tag.
pub struct TaggedPacks(Store);
impl Loader<Uuid> for TaggedPacks {
    type Value = Vec<&'static PackSpec>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<&'static PackSpec>> {
        Ok(every_key(keys, packs::packs_tagged(&self.0, keys).await?))
    }
}

/// Each config's latest health check (and when it last passed); `None` when never checked.
pub struct LatestRun(Store);
impl Loader<Uuid> for LatestRun {
    type Value = Option<(
        crate::domain::health::TestRun,
        Option<chrono::DateTime<chrono::Utc>>,
    )>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Self::Value> {
        let mut found = crate::domain::health::latest(&self.0, keys).await?;
        Ok(keys.iter().map(|k| (*k, found.remove(k))).collect())
    }
}

use crate::domain::executions::{self, Execution, PendingTask};
use crate::domain::references::{self, Reference};

pub struct ExecutionById(Store);
impl Loader<Uuid> for ExecutionById {
    type Value = Execution;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Execution> {
        Ok(executions::by_ids(&self.0, keys).await?)
    }
}

pub struct TasksOfExecution(Store);
impl Loader<Uuid> for TasksOfExecution {
    type Value = Vec<PendingTask>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<PendingTask>> {
        Ok(every_key(keys, executions::tasks_of(&self.0, keys).await?))
    }
}

pub struct ChildExecutions(Store);
impl Loader<Uuid> for ChildExecutions {
    type Value = Vec<Execution>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Execution>> {
        Ok(every_key(
            keys,
            executions::related(&self.0, keys, true).await?,
        ))
    }
}

pub struct HandlerExecutions(Store);
impl Loader<Uuid> for HandlerExecutions {
    type Value = Vec<Execution>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Execution>> {
        Ok(every_key(
            keys,
            executions::related(&self.0, keys, false).await?,
        ))
    }
}

/// The 50 newest executions of each org.
pub struct ExecutionsOfOrg(Store);
impl Loader<Uuid> for ExecutionsOfOrg {
    type Value = Vec<Execution>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Execution>> {
        Ok(every_key(
            keys,
            executions::of_orgs(&self.0, keys, 50).await?,
        ))
    }
}

pub struct ReferencesOfConfig(Store);
impl Loader<Uuid> for ReferencesOfConfig {
    type Value = Vec<Reference>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Reference>> {
        Ok(every_key(
            keys,
            references::of_configs(&self.0, keys).await?,
        ))
    }
}
