import type { Db } from '../db/pool.ts';
import { isUniqueViolation } from '../db/pool.ts';
import * as topics from '../db/topic-queries.ts';
import { AlreadyExistsError } from './errors.ts';

/** A section of the site that people subscribe to. */
export type Topic = topics.Topic;

/** The topics (sections) of the site, as the admin API and the subscription pages see them. */
export class TopicCatalog {
  constructor(private readonly db: Db) {}

  /** Every topic, archived ones included. */
  list(): Promise<Topic[]> {
    return topics.listTopics(this.db);
  }

  /** The topics a visitor may choose on the pages (not archived). */
  async listOpen(): Promise<Topic[]> {
    return (await this.list()).filter((t) => !t.archived_at);
  }

  /** Creates a topic; AlreadyExistsError when the slug is taken. */
  async create(topic: { slug: string; name: string }): Promise<Topic> {
    try {
      return await topics.insertTopic(this.db, topic);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AlreadyExistsError(`Topic "${topic.slug}" exists already.`);
      throw err;
    }
  }

  /** Deletes a topic; false when there was none. */
  remove(slug: string): Promise<boolean> {
    return topics.deleteTopic(this.db, slug);
  }
}
