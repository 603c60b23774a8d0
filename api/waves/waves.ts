import { Router } from 'express';
import { findWave, listWaves, waveLabels } from '../../db/waves.js';
import type { ApiContext } from '../context.js';
import { ListWavesQuery, WaveIdParams } from '../contract.js';
import { parseOr400, problem } from '../http/problem.js';
import { labelSheet } from './label-sheet.js';

/** The warehouse floor's waves (docs/waves.md): the list, one wave, and its printable label sheet. */
export function wavesRouter(context: ApiContext): Router {
  const { db } = context;
  const router = Router();

  router.get('/waves', async (req, res) => {
    const filter = parseOr400(ListWavesQuery, req.query, 'wave filter');
    res.json(await listWaves(db, filter));
  });

  router.get('/waves/:waveId', async (req, res) => {
    const { waveId } = parseOr400(WaveIdParams, req.params, 'wave ID');
    const wave = await findWave(db, waveId);
    if (!wave) throw problem('UnknownWave', `No wave ${waveId}.`);
    res.json(wave);
  });

  router.get('/waves/:waveId/labels.pdf', async (req, res) => {
    const { waveId } = parseOr400(WaveIdParams, req.params, 'wave ID');
    const wave = await findWave(db, waveId);
    if (!wave) throw problem('UnknownWave', `No wave ${waveId}.`);
    const labels = await waveLabels(db, waveId);
    if (!labels.length) throw problem('UnknownWave', `Wave ${waveId} has no labels yet (it is ${wave.status}).`);
    const pdf = await labelSheet(waveId, labels);
    res
      .type('application/pdf')
      .set('content-disposition', `inline; filename="${waveId}-labels.pdf"`)
      .send(Buffer.from(pdf));
  });

  return router;
}
