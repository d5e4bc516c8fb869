//! Tags: the `Tag` type, its queries and mutations, and `setOrganizationTags`.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};

use super::inputs::TagSearchInput;
use super::organizations::Organization;
use super::{actor, loaders, rfc3339, store};
use crate::domain::tags::{self as tags, NewTag, Tag as Row, TagChange, TagFilter};
use crate::domain::{parse_id, parse_ids};
use crate::error::AppResult;

pub struct Tag(pub Row);

#[Object]
impl Tag {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `#RRGGBB`.
    async fn color(&self) -> &str {
        &self.0.color
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The owner; null for a global tag.
    async fn org_id(&self) -> Option<ID> {
        self.0.org_id.map(|i| ID(i.to_string()))
    }
    /// The owner, when the caller may see it.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let Some(id) = self.0.org_id else {
            return Ok(None);
        };
        let caller = actor(ctx)?;
        Ok(loaders(ctx)
            .org
            .load_one(id)
            .await?
            .filter(|o| caller.sees(o))
            .map(Organization))
    }
    /// The live organizations carrying it that the caller may see.
    async fn organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        let caller = actor(ctx)?;
        let orgs = loaders(ctx)
            .tag_carriers
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(orgs
            .into_iter()
            .filter(|o| caller.sees(o))
            .map(Organization)
            .collect())
    }
    /// Packs carrying it.
    async fn packs(&self, ctx: &Context<'_>) -> Result<Vec<super::packs::Pack>> {
        let list = loaders(ctx)
            .tagged_packs
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(list.into_iter().map(super::packs::Pack).collect())
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
}

#[derive(InputObject, Default)]
pub struct TagOrganizationsWhereInput {
    pub id: Option<Vec<Option<ID>>>,
}

#[derive(InputObject, Default)]
pub struct TagWhereInput {
    pub id: Option<ID>,
    /// Matched case-insensitively.
    pub name: Option<String>,
    pub org_id: Option<ID>,
    /// Tags carried by any of these organizations.
    pub organizations: Option<TagOrganizationsWhereInput>,
}

#[derive(InputObject)]
pub struct TagCreateInput {
    pub color: Option<String>,
    pub description: Option<String>,
    pub id: Option<ID>,
    pub name: Option<String>,
    /// The owner: the tag can be put on this org and every org below it.
    pub org_id: ID,
}

#[derive(InputObject)]
pub struct TagUpdateInput {
    pub color: Option<String>,
    pub description: MaybeUndefined<String>,
    pub id: ID,
    pub name: String,
    /// The tag's owner (a tag keeps its owner).
    pub org_id: ID,
}

fn tag_filter(
    where_: Option<&TagWhereInput>,
    search: Option<&TagSearchInput>,
) -> AppResult<TagFilter> {
    let mut f = match search {
        Some(s) => s.to_filter("search")?,
        None => TagFilter::default(),
    };
    if let Some(w) = where_ {
        f.id = w.id.as_ref().map(|i| parse_id("where.id", i)).transpose()?;
        if let Some(name) = &w.name {
            f.preds.push((
                tags::TagField::Name,
                crate::domain::filter::Cmp::Eq(sea_orm::Value::from(name.clone())),
            ));
        }
        if let Some(o) = &w.org_id {
            let o = parse_id("where.orgId", o)?;
            f.preds.push((
                tags::TagField::OrgId,
                crate::domain::filter::Cmp::Eq(sea_orm::Value::from(o)),
            ));
        }
        if let Some(ids) = w.organizations.as_ref().and_then(|o| o.id.as_ref()) {
            let raw: Vec<String> = ids.iter().flatten().map(|i| i.0.clone()).collect();
            f.carried_by = Some(parse_ids("where.organizations.id", &raw)?);
        }
    }
    Ok(f)
}

fn change(input: TagUpdateInput) -> AppResult<TagChange> {
    Ok(TagChange {
        id: parse_id("id", &input.id)?,
        name: input.name,
        org_id: parse_id("orgId", &input.org_id)?,
        color: input.color,
        description: match input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => Some(Some(d)),
        },
    })
}

fn default_order() -> Option<Vec<Vec<String>>> {
    Some(vec![vec!["name".to_owned()]])
}

#[derive(Default)]
pub struct TagQuery;

#[Object]
impl TagQuery {
    async fn tag(
        &self,
        ctx: &Context<'_>,
        search: Option<TagSearchInput>,
        #[graphql(name = "where")] where_: Option<TagWhereInput>,
    ) -> Result<Option<Tag>> {
        let filter = tag_filter(where_.as_ref(), search.as_ref())?;
        Ok(tags::find_one(store(ctx), actor(ctx)?, &filter)
            .await?
            .map(Tag))
    }

    /// Tags the caller may see: owned by their orgs or by orgs above theirs; global ones
    /// with `includeTagsWithNoOwner`.
    #[allow(clippy::too_many_arguments)]
    async fn tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] include_tags_with_no_owner: Option<bool>,
        limit: Option<i32>,
        offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        search: Option<TagSearchInput>,
        #[graphql(name = "where")] where_: Option<TagWhereInput>,
    ) -> Result<Vec<Tag>> {
        let store = store(ctx);
        let filter = tag_filter(where_.as_ref(), search.as_ref())?;
        let page = store.page(limit, offset)?;
        let order = order.unwrap_or_else(|| vec![vec!["name".to_owned()]]);
        let rows = tags::list(
            store,
            actor(ctx)?,
            &filter,
            include_tags_with_no_owner.unwrap_or(false),
            &order,
            page,
        )
        .await?;
        Ok(rows.into_iter().map(Tag).collect())
    }
}

#[derive(Default)]
pub struct TagMutation;

#[Object]
impl TagMutation {
    /// A tag owned by `orgId`; a pleasant colour is picked when none is given.
    async fn create_tag(&self, ctx: &Context<'_>, tag: TagCreateInput) -> Result<Tag> {
        let input = NewTag {
            id: tag.id.map(|i| i.0),
            name: tag.name.unwrap_or_default(),
            org_id: Some(parse_id("orgId", &tag.org_id)?),
            color: tag.color,
            description: tag.description,
        };
        Ok(Tag(tags::create(store(ctx), actor(ctx)?, &input).await?))
    }

    /// Staff: a global tag (no owner), usable on every organization.
    async fn create_global_tag(
        &self,
        ctx: &Context<'_>,
        name: String,
        color: Option<String>,
        description: Option<String>,
    ) -> Result<Tag> {
        let input = NewTag {
            id: None,
            name,
            org_id: None,
            color,
            description,
        };
        Ok(Tag(tags::create(store(ctx), actor(ctx)?, &input).await?))
    }

    async fn update_tag(&self, ctx: &Context<'_>, tag: TagUpdateInput) -> Result<Tag> {
        let mut updated = tags::update(store(ctx), actor(ctx)?, &[change(tag)?]).await?;
        Ok(Tag(updated.remove(0)))
    }

    /// Every change or none.
    async fn update_tags(&self, ctx: &Context<'_>, tags: Vec<TagUpdateInput>) -> Result<Vec<Tag>> {
        let changes = tags
            .into_iter()
            .map(change)
            .collect::<AppResult<Vec<_>>>()?;
        Ok(tags::update(store(ctx), actor(ctx)?, &changes)
            .await?
            .into_iter()
            .map(Tag)
            .collect())
    }

    /// Deletes the tag and takes it off every organization. Returns its id.
    async fn delete_tag(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ID>> {
        let id = parse_id("id", &id)?;
        Ok(Some(ID(tags::delete(store(ctx), actor(ctx)?, id)
            .await?
            .to_string())))
    }

    /// Replaces the organization's tags with `tagIds` (`[]` clears them).
    async fn set_organization_tags(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        tag_ids: Vec<ID>,
    ) -> Result<Option<Organization>> {
        let org_id = parse_id("orgId", &org_id)?;
        let raw: Vec<String> = tag_ids.into_iter().map(|i| i.0).collect();
        let ids = parse_ids("tagIds", &raw)?;
        Ok(Some(Organization(
            tags::set_on_org(store(ctx), actor(ctx)?, org_id, &ids).await?,
        )))
    }
}
