import { type ColumnDef, type RowData, tableFeatures, useTable } from '@tanstack/react-table';

const features = tableFeatures({});

/** Columns of a DataTable, typed by its rows. */
// biome-ignore lint/suspicious/noExplicitAny: each column has its own value type (TanStack's own ColumnDef arrays are typed so)
export type Columns<Row extends RowData> = ColumnDef<typeof features, Row, any>[];

/**
 * A table of rows (TanStack Table's core model; the markup is ours): a caption for screen readers,
 * a header row, and each cell labelled with its column so the narrow layout can stack them.
 */
export function DataTable<Row extends RowData>({
  caption,
  columns,
  rows,
  rowId,
  rowClass,
}: {
  caption: string;
  columns: Columns<Row>;
  rows: Row[];
  rowId: (row: Row) => string;
  rowClass?: (row: Row) => string | undefined;
}) {
  const table = useTable({ features, columns, data: rows, getRowId: rowId });
  return (
    <div className="table-scroll">
      <table className="data-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} scope="col">
                  {header.isPlaceholder ? null : <table.FlexRender header={header} />}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} className={rowClass?.(row.original)}>
              {row.getAllCells().map((cell) => (
                <td key={cell.id} data-label={typeof cell.column.columnDef.header === 'string' ? cell.column.columnDef.header : undefined}>
                  <table.FlexRender cell={cell} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
