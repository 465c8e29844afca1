import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('topics', ['list-topics', 'insert-topic', 'delete-topic']);

/** A section of the site that people subscribe to. */
export interface Topic {
  slug: string;
  name: string;
  /** English name set in the console; null: the texts' name, else the Polish one */
  name_en?: string | null;
  /** set when archived in the console: hidden from the subscription form */
  archived_at?: Date | null;
}

/** Every topic. */
export async function listTopics(db: Db): Promise<Topic[]> {
  return (await db.query<Topic>(sql['list-topics'])).rows;
}

/** Inserts a topic; throws 23505 when the slug exists. */
export async function insertTopic(db: Db, topic: Topic): Promise<Topic> {
  const { rows } = await db.query<Topic>(sql['insert-topic'], [topic.slug, topic.name]);
  return rows[0]!;
}

/** Deletes a topic; false when there was none. */
export async function deleteTopic(db: Db, slug: string): Promise<boolean> {
  return ((await db.query(sql['delete-topic'], [slug])).rowCount ?? 0) > 0;
}
