//! Per-request DataLoaders, so nested fields of a list cost a constant number of queries.
use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::domain::Store;
use crate::domain::api_clients::{self, ApiClient};
use crate::domain::organizations::{self, Org};
use crate::domain::tags::{self, Tag};
use crate::domain::users::{self, User};
use crate::domain::variables::{self, Variable};

pub struct Loaders {
    pub org: DataLoader<OrgById>,
    pub children: DataLoader<ChildrenOf>,
    pub descendants: DataLoader<DescendantCount>,
    pub users_of_org: DataLoader<UsersOfOrg>,
    pub user: DataLoader<UserById>,
    pub client_of_user: DataLoader<ClientOfUser>,
    pub tags_of_org: DataLoader<TagsOfOrg>,
    pub tags_owned: DataLoader<TagsOwnedBy>,
    pub tag_carriers: DataLoader<TagCarriers>,
    pub variables_of_org: DataLoader<VariablesOfOrg>,
}

impl Loaders {
    pub fn new(store: &Store) -> Self {
        Loaders {
            org: DataLoader::new(OrgById(store.clone()), tokio::spawn),
            children: DataLoader::new(ChildrenOf(store.clone()), tokio::spawn),
            descendants: DataLoader::new(DescendantCount(store.clone()), tokio::spawn),
            users_of_org: DataLoader::new(UsersOfOrg(store.clone()), tokio::spawn),
            user: DataLoader::new(UserById(store.clone()), tokio::spawn),
            client_of_user: DataLoader::new(ClientOfUser(store.clone()), tokio::spawn),
            tags_of_org: DataLoader::new(TagsOfOrg(store.clone()), tokio::spawn),
            tags_owned: DataLoader::new(TagsOwnedBy(store.clone()), tokio::spawn),
            tag_carriers: DataLoader::new(TagCarriers(store.clone()), tokio::spawn),
            variables_of_org: DataLoader::new(VariablesOfOrg(store.clone()), tokio::spawn),
        }
    }
}

type LoadResult<V> = Result<HashMap<Uuid, V>, async_graphql::Error>;

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
        Ok(organizations::children_of(&self.0, keys).await?)
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
        Ok(users::of_orgs(&self.0, keys).await?)
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
        Ok(tags::of_orgs(&self.0, keys).await?)
    }
}

pub struct TagsOwnedBy(Store);
impl Loader<Uuid> for TagsOwnedBy {
    type Value = Vec<Tag>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Tag>> {
        Ok(tags::owned_by(&self.0, keys).await?)
    }
}

pub struct TagCarriers(Store);
impl Loader<Uuid> for TagCarriers {
    type Value = Vec<Org>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Org>> {
        Ok(tags::carriers(&self.0, keys).await?)
    }
}

/// Each org's own variables, secrets masked.
pub struct VariablesOfOrg(Store);
impl Loader<Uuid> for VariablesOfOrg {
    type Value = Vec<Variable>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Uuid]) -> LoadResult<Vec<Variable>> {
        Ok(variables::of_orgs(&self.0, keys).await?)
    }
}
