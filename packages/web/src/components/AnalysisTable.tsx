import { Table } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { CanaryAnalysis } from '../api/types.ts';
import { useFormat } from '../format.ts';

/** The canary analysis record as a table: the chart's values, readable without it. */
export function AnalysisTable({ analysis }: { analysis: CanaryAnalysis[] }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const metrics = [...new Set(analysis.flatMap((a) => a.metrics.map((m) => m.name)))];
  return (
    <Table.ScrollContainer minWidth={480}>
      <Table striped data-testid="analysis-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('analysis.step')}</Table.Th>
            <Table.Th>{t('analysis.weight')}</Table.Th>
            {metrics.map((name) => (
              <Table.Th key={name}>{t(`metric.${name}`, { defaultValue: name })}</Table.Th>
            ))}
            <Table.Th>{t('analysis.verdict')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {analysis.map((a) => (
            <Table.Tr key={`${a.step}-${a.weight}`}>
              <Table.Td>{a.step}</Table.Td>
              <Table.Td>{fmt.percent(a.weight)}</Table.Td>
              {metrics.map((name) => {
                const metric = a.metrics.find((m) => m.name === name);
                return <Table.Td key={name}>{metric?.value === null || metric === undefined ? t('analysis.noData') : `${fmt.number(metric.value)} (${t(`verdict.${metric.verdict}`, { defaultValue: metric.verdict })})`}</Table.Td>;
              })}
              <Table.Td>{t(`verdict.${a.verdict}`, { defaultValue: a.verdict })}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
